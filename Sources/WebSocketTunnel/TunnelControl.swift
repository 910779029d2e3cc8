import Glibc
import Synchronization

/// What the tunnel's owner and its relay thread share: the close request, and the reason once closed.
final class TunnelControl: Sendable {
    private struct State {
        var closeRequested = false
        var reason: TunnelCloseReason?
        var waiters: [CheckedContinuation<TunnelCloseReason, Never>] = []
    }

    private let state = Mutex(State())
    /// A pipe whose read end wakes the relay's poll(); both ends are closed by `finish` under the lock,
    /// so a late `requestClose` can never write to a reused descriptor.
    let wakeDescriptor: Int32
    private let wakeWriter: Int32

    init() throws(SystemCallError) {
        var ends: [Int32] = [0, 0]
        try systemCall("pipe") { pipe(&ends) }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        wakeDescriptor = ends[0]
        wakeWriter = ends[1]
    }

    var isCloseRequested: Bool { state.withLock { $0.closeRequested } }

    /// Asks the relay to close; does nothing once it has finished or was already asked.
    func requestClose() {
        state.withLock { state in
            guard state.reason == nil, !state.closeRequested else { return }
            state.closeRequested = true
            var byte: UInt8 = 1
            _ = write(wakeWriter, &byte, 1)
        }
    }

    /// Empties the wake-up counter after poll() reported it.
    func drainWakeups() {
        var bytes = [UInt8](repeating: 0, count: 16)
        _ = read(wakeDescriptor, &bytes, bytes.count)
    }

    /// Records why the relay ended and wakes everyone waiting for it.
    func finish(_ reason: TunnelCloseReason) {
        let waiters = state.withLock { state in
            state.reason = reason
            Glibc.close(wakeDescriptor)
            Glibc.close(wakeWriter)
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: reason) }
    }

    /// Waits until the relay has ended, then returns why.
    func closeReason() async -> TunnelCloseReason {
        await withCheckedContinuation { continuation in
            let known = state.withLock { state in
                if state.reason == nil { state.waiters.append(continuation) }
                return state.reason
            }
            if let known { continuation.resume(returning: known) }
        }
    }

    /// The reason, if the relay has ended.
    var currentReason: TunnelCloseReason? { state.withLock { $0.reason } }
}
