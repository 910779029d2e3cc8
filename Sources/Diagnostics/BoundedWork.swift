import HTTPClient
import Synchronization

/// Runs blocking work (DNS, sockets, SQLite, libcurl) on a thread of its own and stops waiting for it at a
/// deadline, so that a hanging endpoint can delay `check` by at most its time limit. The abandoned thread ends
/// with the process.
enum BoundedWork {
    /// The work's result, or nil when `limit` passed first.
    static func run<Value: Sendable>(
        limit: Duration, _ work: @escaping @Sendable () async -> Value
    ) async -> Value? {
        let once = Once<Value?>()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
            once.set(continuation)
            Task.detached {
                let value = await work()
                once.resume(value)
            }
            Task.detached {
                try? await Task.sleep(for: limit)
                once.resume(nil)
            }
        }
    }

    /// Blocking work on a dedicated thread (not one of the few cooperative-pool threads).
    static func thread<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async -> Value {
        await withCheckedContinuation { continuation in
            let body: @Sendable () -> Void = { continuation.resume(returning: work()) }
            if !DedicatedThread.start(body) { body() }
        }
    }
}

/// Resumes a continuation exactly once, whichever of the work and the timer comes first.
private final class Once<Value: Sendable>: Sendable {
    private let state = Mutex<(CheckedContinuation<Value, Never>?, Bool)>((nil, false))

    func set(_ continuation: CheckedContinuation<Value, Never>) {
        state.withLock { $0.0 = continuation }
    }

    func resume(_ value: Value) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, Never>? in
            guard !state.1, let continuation = state.0 else { return nil }
            state.1 = true
            return continuation
        }
        continuation?.resume(returning: value)
    }
}
