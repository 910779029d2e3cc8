import FoundationEssentials
import AgentConfig
import AgentLogging
import GatewayCore
import Logging
import MQTTClient
import Synchronization

/// Owns the broker connection: connects, subscribes to acks, forwards events to the engine,
/// and reconnects after every loss with exponential backoff and full jitter.
///
/// One `MQTTConnection` per attempt; only this type creates or closes them.
/// Errors that retrying cannot fix (refused certificate or credentials) are logged with what to do,
/// then retried at the slowest pace (`broker.reconnect_max`). Every failure goes through `failures`:
/// logged once, then summarised once per `agent.log_repeat_interval` until a connection stays up (`stableAfter`).
final class ConnectionManager: Sendable {
    /// A connection that stayed up this long resets the backoff and ends the outage in the log.
    static let stableAfter: Duration = .seconds(30)

    private let source: any BrokerTargetSource
    private let inbox: EngineInbox
    private let ackSubscription: String
    private let reconnectMin: Duration
    private let reconnectMax: Duration
    private let logger: Logger
    private let failures: RepeatedFailureLog
    private let current = Mutex<MQTTConnection?>(nil)

    init(
        source: any BrokerTargetSource, inbox: EngineInbox, ackSubscription: String, reconnectMin: Duration,
        reconnectMax: Duration, logger: Logger, failures: RepeatedFailureLog
    ) {
        self.source = source
        self.inbox = inbox
        self.ackSubscription = ackSubscription
        self.reconnectMin = reconnectMin
        self.reconnectMax = reconnectMax
        self.logger = logger
        self.failures = failures
    }

    /// Connects and reconnects until the task is cancelled; then disconnects cleanly.
    func run() async {
        var backoff = Backoff(minimum: reconnectMin, maximum: reconnectMax)
        let endpoint = source.endpointDescription
        while !Task.isCancelled {
            inbox.post(.connectionState(.connecting, endpoint: endpoint, error: nil))
            var delay: Duration
            do {
                let upFor = try await connectAndServe()
                if upFor >= Self.stableAfter { backoff.reset() }
                delay = backoff.next()
            } catch {
                let (text, permanent) = describe(error)
                inbox.post(.connectionState(.disconnected, endpoint: endpoint, error: text))
                if permanent {
                    delay = reconnectMax
                    failures.failed(
                        "cannot connect, retrying slowly", endpoint: endpoint, cause: text, level: .error,
                        metadata: ["endpoint": "\(endpoint)", "error": "\(text)", "retry": "\(DurationText.format(reconnectMax))"])
                } else {
                    delay = backoff.next()
                    failures.failed(
                        "cannot connect", endpoint: endpoint, cause: text,
                        metadata: ["endpoint": "\(endpoint)", "error": "\(text)", "retry in": "\(delay.milliseconds)ms"])
                }
            }
            if Task.isCancelled { break }
            try? await Task.sleep(for: delay)
        }
        failures.cleared()
        stop()
    }

    /// Disconnects the live connection, if any (shutdown).
    func stop() {
        current.withLock { connection in
            connection?.disconnect()
            connection = nil
        }
    }

    /// One attempt: returns how long the connection was up once it ends; throws if it never came up.
    private func connectAndServe() async throws -> Duration {
        let target = try await source.prepare()
        defer { target.release() }
        let connection = MQTTConnection(options: target.options)
        current.withLock { $0 = connection }
        defer { stop() }

        try await connection.connect()
        _ = try connection.subscribe(ackSubscription, qos: 1)
        // A connection that stays up ends the outage: what is still pending is written, and the next failure is
        // news again. One dropped sooner (a duplicate client id, a policy that closes it) is the same outage.
        let recovered = Task { [failures] in
            try await Task.sleep(for: Self.stableAfter)
            failures.cleared()
        }
        defer { recovered.cancel() }
        var events = connection.events.makeAsyncIterator()

        // The broker handles SUBSCRIBE before the PUBLISHes that follow it on this connection,
        // so requests may go out at once; a refused subscription is reported when its SUBACK comes.
        let connectedAt = ContinuousClock.now
        inbox.post(.connected(MQTTRequestPublisher(connection: connection), endpoint: target.endpoint, backlogNote: "subscribed"))
        var reason = "stopping"
        while let event = await events.next() {
            if case .disconnected(let disconnect) = event {
                reason = disconnect.description
                break
            }
            forward(event)
        }
        inbox.post(.disconnected(reason: reason))
        return ContinuousClock.now - connectedAt
    }

    private func forward(_ event: MQTTEvent) {
        switch event {
        case .published(let messageID):
            inbox.post(.published(messageID: messageID))
        case .publishRejected(let messageID, let code, let reason):
            // The request stays in flight; its ack timeout resends it, and is refused again while the policy stands.
            failures.failed(
                "broker rejected a publish", cause: "\(reason) (\(code))",
                metadata: ["messageId": "\(messageID)", "reasonCode": "\(code)", "reason": "\(reason)"])
        case .message(let message):
            inbox.post(.message(topic: message.topic, payload: message.payload, correlationData: message.correlationData))
        case .subscribed(_, let granted):
            if granted.contains(where: { $0 >= 0x80 }) {
                logger.error(
                    "the broker refused the ack subscription: acks cannot arrive; check the broker policy",
                    metadata: ["filter": "\(ackSubscription)"])
            }
        case .disconnected:
            break
        }
    }

    private func describe(_ error: any Error) -> (String, permanent: Bool) {
        if let mqtt = error as? MQTTError { return (mqtt.description, mqtt.isPermanent) }
        if let secret = error as? SecretFileError { return (secret.description, true) }
        if let permanent = error as? any PermanentFailure { return ("\(error)", permanent.isPermanent) }
        return ("\(error)", false)
    }
}

/// Errors that may say whether retrying can help (credential sources, the tunnel).
protocol PermanentFailure: Error {
    var isPermanent: Bool { get }
}
