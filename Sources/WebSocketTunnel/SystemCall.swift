import Glibc

/// A system call that failed: which call, and the errno it left.
struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    let call: String
    let code: Int32

    var description: String { "\(call) failed: \(String(cString: strerror(code)))" }

    var wouldBlock: Bool { code == EAGAIN || code == EWOULDBLOCK }
}

/// Runs one system call, retrying on EINTR and turning -1 + errno into a `SystemCallError`.
///
/// Every socket call of this module goes through here, so errno is read in exactly one place.
@discardableResult
func systemCall<Result: BinaryInteger>(_ name: String, _ body: () -> Result) throws(SystemCallError) -> Result {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code != EINTR { throw SystemCallError(call: name, code: code) }
    }
}

/// A point in time that blocking steps must finish by.
struct Deadline {
    let instant: ContinuousClock.Instant

    init(after duration: Duration) {
        instant = ContinuousClock.now.advanced(by: duration)
    }

    var remaining: Duration { instant - ContinuousClock.now }

    var hasPassed: Bool { remaining <= .zero }

    /// Milliseconds left for poll(), rounded up so a short wait never becomes a busy loop; 0 when passed.
    var pollMilliseconds: Int32 {
        let left = remaining
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
}

/// Waits until `descriptor` is ready for `events` or the deadline passes; false on timeout.
func waitUntilReady(_ descriptor: Int32, events: Int32, deadline: Deadline) throws(SystemCallError) -> Bool {
    while true {
        if deadline.hasPassed { return false }
        var entry = pollfd(fd: descriptor, events: Int16(events), revents: 0)
        let ready = try systemCall("poll") { poll(&entry, 1, deadline.pollMilliseconds) }
        if ready > 0 { return true }
    }
}
