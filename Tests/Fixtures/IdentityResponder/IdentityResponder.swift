import Foundation
import GatewayCore
import MQTTClient

/// The cloud side of Identity v2, for tests: keeps a registry of identities, answers requests with acks
/// as the current `ResponderBehaviour` says, and writes its state after every change.
///
/// A repeated correlation id is acknowledged again but changes the registry at most once.
/// Changes are flushed together at most every `flushInterval`: first the state file, then the queued acks.
/// With `--records-only` there is no state file to write first, so the acks go out as soon as the requests
/// handled so far are done.
actor IdentityResponder {
    static let requestFilter = "from/module/+/action/identity/+"
    static let controlTopic = "test/responder/control"
    static let flushInterval: Duration = .milliseconds(25)

    private var state: ResponderState
    private let stateFile: String
    /// False with `--records-only`: rewriting the whole registry every flush would make a 10,000-request
    /// benchmark quadratic.
    private let rewritesState: Bool
    private let records: RecordLog
    private var queuedAcks: [@Sendable () -> Void] = []
    /// `state.applied` as a set: a linear search of it would make a 10,000-request benchmark quadratic.
    private var appliedIDs: Set<String>
    private var flushScheduled = false

    init(stateFile: String, rewritesState: Bool = true) {
        self.stateFile = stateFile
        self.rewritesState = rewritesState
        records = RecordLog(path: "\(stateFile).records.jsonl")
        state = ResponderState.load(from: stateFile)
        appliedIDs = Set(state.applied)
        state.write(to: stateFile)
    }

    /// Connects, serves until the connection ends, and connects again; forever.
    func run(options: MQTTOptions) async {
        while true {
            let connection = MQTTConnection(options: options)
            do {
                try await connection.connect()
                _ = try connection.subscribe(Self.requestFilter, qos: 1)
                _ = try connection.subscribe(Self.controlTopic, qos: 1)
            } catch {
                log("cannot connect to \(options.endpointDescription): \(error)")
                connection.disconnect()
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            state.connections += 1
            log("connected to \(options.endpointDescription)")
            var subacks = 0
            for await event in connection.events {
                switch event {
                case .subscribed:
                    subacks += 1
                    if subacks == 2 {
                        state.subscribed = true
                        save()
                        if !rewritesState { state.write(to: stateFile) }
                    }
                case .message(let message):
                    handle(message, on: connection)
                case .disconnected(let reason):
                    log("\(reason)")
                case .published, .publishRejected:
                    break
                }
            }
            state.subscribed = false
            save()
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    private func handle(_ message: MQTTMessage, on connection: MQTTConnection) {
        if message.topic == Self.controlTopic {
            applyControl(message.payload)
            return
        }
        guard let request = IdentityRequestMessage(message) else {
            log("ignored message on \(message.topic)")
            return
        }
        records.append(
            ResponderState.Record(
                topic: message.topic, action: request.action, properties: request.properties,
                payload: String(decoding: message.payload, as: UTF8.self),
                userProperties: message.userProperties.map { [$0.0, $0.1] },
                correlationData: message.correlationData.map { String(decoding: $0, as: UTF8.self) },
                receivedAtMs: Int64(Date().timeIntervalSince1970 * 1000)))
        state.recordCount += 1
        defer { save() }

        guard let correlationID = request.correlationID else {
            log("request on \(message.topic) has no correlationId: not answered")
            return
        }
        state.requestCounts[correlationID, default: 0] += 1
        let behaviour = state.behaviour
        let sends = state.requestCounts[correlationID] ?? 1

        switch behaviour.mode {
        case .never:
            log("\(request.action) \(correlationID): never answered (mode never)")
            return
        case .dropFirstN where sends <= (behaviour.n ?? 0):
            log("\(request.action) \(correlationID): send \(sends) dropped (mode drop-first-n)")
            return
        default:
            break
        }

        let body: [String: String]
        if !request.payloadIsValid {
            body = ["status": "error", "error": "bad-request", "message": "payload is not {\"identity\": …}"]
        } else if behaviour.failsIdentity(request.identity) {
            body = [
                "status": "error", "error": behaviour.error ?? "rejected",
                "message": behaviour.message ?? "rejected by the test responder",
            ]
        } else {
            apply(request, correlationID: correlationID)
            body = ["status": "success"]
        }

        guard request.wantsAck else {
            log("\(request.action) \(correlationID): ack=none, no ack")
            return
        }
        switch behaviour.mode {
        case .late, .outOfOrder:
            let delay =
                behaviour.mode == .late
                ? Duration.milliseconds(behaviour.delayMs ?? 1000) : .milliseconds(Int.random(in: 0...(behaviour.delayMs ?? 500)))
            Task {
                try? await Task.sleep(for: delay)
                self.sendAck(request, correlationID: correlationID, body: body, behaviour: behaviour, on: connection)
            }
        case .twice:
            sendAck(request, correlationID: correlationID, body: body, behaviour: behaviour, on: connection)
            sendAck(request, correlationID: correlationID, body: body, behaviour: behaviour, on: connection)
        case .malformed:
            sendMalformedAck(request, correlationID: correlationID, kind: behaviour.malformed ?? .json, on: connection)
        case .success, .error, .never, .dropFirstN:
            sendAck(request, correlationID: correlationID, body: body, behaviour: behaviour, on: connection)
        }
    }

    /// Changes the registry for a successful request, once per correlation id.
    private func apply(_ request: IdentityRequestMessage, correlationID: String) {
        guard !appliedIDs.contains(correlationID), let identity = request.identity?.lowercased() else { return }
        switch request.action {
        case "create":
            state.registry[identity] = .init(publicKey: request.publicKey, parent: request.properties["parent"])
        case "update":
            if var existing = state.registry[identity] {
                if let key = request.publicKey { existing.publicKey = key }
                if let parent = request.properties["parent"] { existing.parent = parent }
                state.registry[identity] = existing
            }
        case "delete":
            state.registry[identity] = nil
        default:
            return
        }
        state.applied.append(correlationID)
        appliedIDs.insert(correlationID)
    }

    private func sendAck(
        _ request: IdentityRequestMessage, correlationID: String, body: [String: String], behaviour: ResponderBehaviour,
        on connection: MQTTConnection
    ) {
        var topic = request.ackTopic
        var body = body
        var correlationData: [UInt8]?
        switch behaviour.ackVia {
        case .topic: topic += "&correlationId=\(PercentEncoding.encode(correlationID))"
        case .correlationData: correlationData = Array(correlationID.utf8)
        case .payload: body["correlationId"] = correlationID
        }
        publish(topic: topic, payload: json(body), correlationData: correlationData, on: connection)
        log("\(request.action) \(correlationID): ack \(body["status"] ?? "") via \(behaviour.ackVia.rawValue)")
    }

    private func sendMalformedAck(
        _ request: IdentityRequestMessage, correlationID: String, kind: ResponderBehaviour.Malformation,
        on connection: MQTTConnection
    ) {
        let withID = "\(request.ackTopic)&correlationId=\(PercentEncoding.encode(correlationID))"
        switch kind {
        case .json:
            publish(topic: withID, payload: Array("{\"status\": \"success\"".utf8), on: connection)
        case .encoding:
            publish(topic: "\(request.ackTopic)&correlationId=%ZZ", payload: json(["status": "success"]), on: connection)
        case .oversized:
            let padding = String(repeating: "x", count: WireLimits.maxAckBytes + 1024)
            publish(topic: withID, payload: json(["status": "success", "padding": padding]), on: connection)
        }
        log("\(request.action) \(correlationID): malformed ack (\(kind.rawValue))")
    }

    /// Queues an ack; it goes out right after the next state-file write.
    private func publish(topic: String, payload: [UInt8], correlationData: [UInt8]? = nil, on connection: MQTTConnection) {
        state.acksSent += 1
        queuedAcks.append {
            do {
                _ = try connection.publish(topic: topic, payload: payload, correlationData: correlationData)
            } catch {
                FileHandle.standardError.write(Data("identity-responder: cannot publish ack on \(topic): \(error)\n".utf8))
            }
        }
        save()
    }

    private func applyControl(_ payload: [UInt8]) {
        do {
            state.behaviour = try JSONDecoder().decode(ResponderBehaviour.self, from: Data(payload))
            state.controlCount += 1
            save()
            log("behaviour: \(String(decoding: payload, as: UTF8.self))")
        } catch {
            log("ignored bad control message \(String(decoding: payload, as: UTF8.self)): \(error)")
        }
    }

    private func json(_ body: [String: String]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(body)) ?? Data("{}".utf8))
    }

    /// Schedules a flush: the state file, then the queued acks.
    private func save() {
        guard !flushScheduled else { return }
        flushScheduled = true
        Task {
            if rewritesState { try? await Task.sleep(for: Self.flushInterval) }
            self.flush()
        }
    }

    private func flush() {
        flushScheduled = false
        if rewritesState { state.write(to: stateFile) }
        let acks = queuedAcks
        queuedAcks = []
        for ack in acks { ack() }
    }

    private func log(_ line: String) {
        FileHandle.standardError.write(Data("identity-responder: \(line)\n".utf8))
    }
}
