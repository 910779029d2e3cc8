import Testing

@testable import Agent

@Suite("Memory release after a drained burst")
struct MemoryReleaseTests {
    @Test("memory is given back once, when an outbox that held a burst drains")
    func releasesOnceAfterBurst() {
        var memory = MemoryRelease()
        let depths = [0, 40, MemoryRelease.burst + 20, 60, 1, 0, 0, 0]
        let releases = depths.map { memory.drained(pending: $0) }
        #expect(releases == [false, false, false, false, false, true, false, false])
    }

    @Test("a trickle of small batches never triggers a release")
    func smallBatchesKeepMemory() {
        var memory = MemoryRelease()
        let depths = Array(repeating: [MemoryRelease.burst - 1, 0], count: 50).flatMap { $0 }
        let releases = depths.map { memory.drained(pending: $0) }
        #expect(!releases.contains(true))
    }

    @Test("each new burst releases again when it drains; the release itself is safe to call at any time")
    func everyBurstReleases() {
        var memory = MemoryRelease()
        var releases: [Bool] = []
        for _ in 0..<3 {
            releases.append(memory.drained(pending: MemoryRelease.burst))
            releases.append(memory.drained(pending: 0))
        }
        #expect(releases == [false, true, false, true, false, true])
        MemoryRelease.releaseFreeHeap()
    }
}
