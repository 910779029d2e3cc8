import CLinuxShims

/// After a burst of requests, the heap and SQLite's page cache stay at the size the burst grew them to. A gateway
/// idles far more than it bursts, so once an outbox that held at least `burst` requests has drained, the engine
/// gives both back: SQLite's cache, then glibc's free pages.
struct MemoryRelease {
    /// Smaller bursts grow nothing worth a trim.
    static let burst = 100
    private var peak = 0

    /// Called after each engine turn with the requests still queued or in flight; true when memory should be given
    /// back now: the outbox has just drained after a burst.
    mutating func drained(pending: Int) -> Bool {
        peak = max(peak, pending)
        guard pending == 0, peak >= Self.burst else { return false }
        peak = 0
        return true
    }

    /// `malloc_trim(0)`: returns the free pages of every malloc arena to the kernel.
    static func releaseFreeHeap() {
        _ = gateway_release_free_heap()
    }
}
