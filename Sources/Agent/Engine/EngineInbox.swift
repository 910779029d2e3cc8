import GatewayCore

/// The engine's single queue of inputs: MQTT events, control commands, connection changes.
/// Any thread may post; only the engine thread takes. FIFO, so a connection's events keep their order.
final class EngineInbox: @unchecked Sendable {
    private let lock = ConditionLock()
    private var items: [EngineInput] = []

    func post(_ input: EngineInput) {
        lock.withLock {
            items.append(input)
            lock.broadcast()
        }
    }

    /// Everything posted so far; waits up to `timeout` when nothing is there.
    func takeAll(waitingAtMost timeout: Duration) -> [EngineInput] {
        lock.withLock {
            if items.isEmpty { lock.wait(timeout: timeout) }
            defer { items.removeAll(keepingCapacity: true) }
            return items
        }
    }
}

/// Where the engine sends the answers to one control request; the connection's thread reads them.
/// A `wait` request gets two: `accepted`, then `outcome`.
final class ResponseChannel: @unchecked Sendable {
    private let lock = ConditionLock()
    private var responses: [(response: ControlResponseLine, final: Bool)] = []
    private var cancelled = false

    /// Sends `response`; `final` ends the conversation.
    func send(_ response: ControlResponseLine, final: Bool) {
        lock.withLock {
            responses.append((response, final))
            lock.broadcast()
        }
    }

    /// The next response, or nil when none came within `timeout`.
    func next(timeout: Duration) -> (response: ControlResponseLine, final: Bool)? {
        lock.withLock {
            if responses.isEmpty { lock.wait(timeout: timeout) }
            return responses.isEmpty ? nil : responses.removeFirst()
        }
    }

    /// The client went away: the engine stops keeping its waits.
    func cancel() { lock.withLock { cancelled = true } }

    var isCancelled: Bool { lock.withLock { cancelled } }
}
