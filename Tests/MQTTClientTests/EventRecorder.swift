import MQTTClient
import Synchronization

/// Reads a connection's events in one task (an AsyncStream has one consumer) and lets tests wait for them.
final class EventRecorder: Sendable {
    private final class Log: Sendable {
        let state = Mutex<(events: [MQTTEvent], finished: Bool)>(([], false))
    }

    private let log = Log()
    private let reader: Task<Void, Never>

    init(_ connection: MQTTConnection) {
        let log = self.log
        let stream = connection.events
        reader = Task {
            for await event in stream {
                log.state.withLock { $0.events.append(event) }
            }
            log.state.withLock { $0.finished = true }
        }
    }

    deinit { reader.cancel() }

    var events: [MQTTEvent] { log.state.withLock { $0.events } }
    var finished: Bool { log.state.withLock { $0.finished } }

    struct Timeout: Error, CustomStringConvertible {
        let what: String
        let events: [MQTTEvent]
        var description: String { "timed out waiting for \(what); events so far: \(events)" }
    }

    /// Polls until `match` finds something in the events so far.
    func wait<T>(
        for what: String, timeout: Duration = .seconds(5), _ match: ([MQTTEvent]) -> T?
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let found = match(events) { return found }
            try await Task.sleep(for: .milliseconds(10))
        }
        if let found = match(events) { return found }
        throw Timeout(what: what, events: events)
    }

    /// Waits for the PUBACK of `messageID`.
    func waitForPuback(_ messageID: Int32) async throws {
        try await wait(for: "PUBACK of \(messageID)") { events in
            events.contains { if case .published(messageID) = $0 { return true } else { return false } } ? () : nil
        }
    }

    /// Waits for the SUBACK of `messageID` and returns the granted QoS.
    func waitForSuback(_ messageID: Int32) async throws -> [Int32] {
        try await wait(for: "SUBACK of \(messageID)") { events in
            for case .subscribed(messageID, let granted) in events { return granted }
            return nil
        }
    }

    /// Waits for a message on `topic`.
    func waitForMessage(on topic: String, timeout: Duration = .seconds(5)) async throws -> MQTTMessage {
        try await wait(for: "a message on \(topic)", timeout: timeout) { events in
            for case .message(let message) in events where message.topic == topic { return message }
            return nil
        }
    }

    /// Waits for `.disconnected`.
    func waitForDisconnect(timeout: Duration = .seconds(5)) async throws -> MQTTDisconnect {
        try await wait(for: "disconnected", timeout: timeout) { events in
            for case .disconnected(let disconnect) in events { return disconnect }
            return nil
        }
    }
}
