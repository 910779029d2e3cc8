import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// The state_dir runs out of space or turns read-only, at startup and while requests stream through: the agent
/// says so clearly, its store stays intact (`PRAGMA integrity_check`), and it carries on once the disk is back.
/// The state_dir is a small tmpfs mounted for the test (the suite runs as root, as CI does), unmounted even when
/// the test fails.
@Suite("Faults: disk", .serialized, .blockingWaits)
struct DiskFaultTests {
    @Test("a full state_dir at startup: a clear error and a non-zero exit; the agent starts once space returns")
    func fullAtStartup() async throws {
        let cloud = try CloudHarness(start: false)
        let disk = try StateDisk(at: cloud.agent.stateDir)
        defer { disk.unmount() }
        try disk.fill()
        #expect(throws: (any Error).self) { try cloud.agent.start() }
        let log = cloud.agent.log()
        #expect(log.contains(cloud.agent.stateDir), "the error names the state_dir:\n\(log.suffix(2000))")
        #expect(log.lowercased().contains("full") || log.contains("No space left"), "\(log.suffix(2000))")
        disk.free()
        try cloud.agent.start()
        try await Self.stream("disk-full-startup", cloud: cloud, count: 100, group: 0x0f41)
    }

    @Test("a read-only state_dir at startup: a clear error and a non-zero exit; the agent starts once it is writable")
    func readOnlyAtStartup() async throws {
        let cloud = try CloudHarness(start: false)
        let disk = try StateDisk(at: cloud.agent.stateDir)
        defer { disk.unmount() }
        try disk.remount(readOnly: true)
        #expect(throws: (any Error).self) { try cloud.agent.start() }
        let log = cloud.agent.log()
        #expect(log.contains(cloud.agent.stateDir), "the error names the state_dir:\n\(log.suffix(2000))")
        #expect(log.contains("Read-only file system") || log.contains("readonly"), "\(log.suffix(2000))")
        try disk.remount(readOnly: false)
        try cloud.agent.start()
        try await Self.stream("disk-readonly-startup", cloud: cloud, count: 100, group: 0x0f42)
    }

    /// Read-only mid-run is left out: Linux refuses `remount,ro` while a file there is open for writing (the
    /// store is), so only a filesystem error can do it; the store sees the same failing writes as when full.
    @Test("the state_dir fills up mid-stream: new requests are refused clearly, nothing accepted is lost")
    func fullMidRun() async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"1s\"\nmax_attempts = 10\nmax_inflight = 50", start: false)
        let disk = try StateDisk(at: cloud.agent.stateDir)
        defer { disk.unmount() }
        try cloud.agent.start()
        let ledger = FaultLedger("disk-full-midrun")
        let group = 0x0f43
        // Slow acks keep requests in flight when the disk goes: their acks cannot be recorded until it is back.
        try await cloud.responder.setBehaviour(#"{"mode":"late","delayMs":300}"#)
        try ledger.submitCreatesAnswered(faultIDs(FaultScale.requests(200), group: group), to: cloud.agent.socketPath)
        try disk.fill()
        ledger.injected()

        // SQLite reuses the pages its WAL already holds: requests are still accepted until those run out.
        var refused: ControlResponse?
        for n in 0..<FaultScale.requests(3000) {
            let response = try ledger.submitCreate(CloudHarness.id(5000 + n, group: group), to: cloud.agent.socketPath)
            if response?.ok == false {
                refused = response
                break
            }
        }
        let message = try #require(refused?.error?.message, "a create was refused once the disk was full")
        #expect(message.contains("not accepted") && message.contains("disk is full"), "\(message)")
        #expect(cloud.agent.log().contains("cannot store requests"))
        try await Task.sleep(for: .seconds(1))
        print("disk full: \(ledger.acceptedCount) accepted; status while full: \(try cloud.status())")

        disk.free()
        try await cloud.responder.setBehaviour(#"{"mode":"success"}"#)
        try ledger.submitCreatesAnswered(
            faultIDs(FaultScale.requests(100), group: group, from: 10_000), to: cloud.agent.socketPath)
        _ = try await cloud.waitForStatus("everything acked", timeout: .seconds(90)) { $0.queued == 0 && $0.inFlight == 0 }
        #expect(try cloud.status().failed == 0)
        try ledger.verify(responder: cloud.responder, agent: cloud.agent)
        #expect(cloud.agent.stop() == .exited(0))
        #expect(try StoreRows.integrityCheck(stateDir: cloud.agent.stateDir) == "ok")
    }

    /// A stream of creates through an agent that just recovered, checked like every fault case.
    static func stream(_ name: String, cloud: CloudHarness, count: Int, group: Int) async throws {
        let ledger = FaultLedger(name)
        ledger.injected()
        try ledger.submitCreatesAnswered(faultIDs(FaultScale.requests(count), group: group), to: cloud.agent.socketPath)
        _ = try await cloud.waitForStatus("everything acked") { $0.queued == 0 && $0.inFlight == 0 }
        try ledger.verify(responder: cloud.responder, agent: cloud.agent)
    }
}

/// A 32 MiB tmpfs (room for the WAL, which may grow to 4 MiB before each checkpoint) mounted on a state_dir,
/// which a filler file can fill and `remount` can make read-only.
final class StateDisk {
    let path: String
    private var filler: String { path + "/filler" }

    init(at path: String) throws {
        self.path = path
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw ChildProcessError("mkdir \(path): errno \(errno)") }
        try ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", path]).checked()
    }

    /// Writes a file that takes every free byte.
    func fill() throws {
        let outcome = try ChildProcess.run("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=64k"])
        guard outcome.stderr.contains("No space left") else { throw ChildProcessError("\(outcome)") }
    }

    /// Removes the filler.
    func free() { unlink(filler) }

    func remount(readOnly: Bool) throws {
        try ChildProcess.run("/bin/mount", ["-o", "remount,\(readOnly ? "ro" : "rw")", path]).checked()
    }

    /// Unmounts (lazily, so a process still holding a file there cannot keep it mounted).
    func unmount() {
        _ = try? ChildProcess.run("/bin/umount", ["-l", path])
    }
}
