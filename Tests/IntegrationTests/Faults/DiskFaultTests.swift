import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// The state_dir runs out of space or turns read-only, at startup and while requests stream through: the agent
/// says so clearly, its store stays intact (`PRAGMA integrity_check`), and it carries on once the disk is back.
/// The state_dir is a small tmpfs, or ext4 on a loop device, mounted for the test (the suite runs as root, as CI
/// does), unmounted even when the test fails.
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

    /// `remount,ro` is refused while the store is open for writing, so the state_dir turns read-only the way a
    /// failing SD card does it: ext4 (`errors=remount-ro`) on a loop device, sent a filesystem error.
    @Test("the state_dir turns read-only mid-stream: new requests are refused clearly, nothing accepted is lost")
    func readOnlyMidRun() async throws {
        let cloud = try Self.midStreamHarness()
        let disk = try FailingStateDisk(at: cloud.agent.stateDir)
        defer { disk.unmount() }
        let ledger = FaultLedger("disk-readonly-midrun")
        let group = 0x0f44
        try await Self.startLateAckStream(cloud: cloud, ledger: ledger, group: group)
        try disk.turnReadOnly()
        ledger.injected()

        let refused = try ledger.submitCreate(CloudHarness.id(5000, group: group), to: cloud.agent.socketPath)
        let message = try #require(refused?.error?.message, "a create was refused once the disk was read-only")
        #expect(message.contains("not accepted") && message.contains("read-only"), "\(message)")
        #expect(cloud.agent.log().contains("cannot store requests"))
        print("read-only: \(ledger.acceptedCount) accepted; status: \(try cloud.status())")
        #expect(cloud.agent.stop() == .exited(0))

        // The operator's fix: check the filesystem, mount it again, start the agent.
        try disk.repair()
        try cloud.agent.start()
        try await Self.finishAfterRecovery(cloud: cloud, ledger: ledger, group: group)
    }

    @Test("the state_dir fills up mid-stream: new requests are refused clearly, nothing accepted is lost")
    func fullMidRun() async throws {
        let cloud = try Self.midStreamHarness()
        let disk = try StateDisk(at: cloud.agent.stateDir)
        defer { disk.unmount() }
        let ledger = FaultLedger("disk-full-midrun")
        let group = 0x0f43
        try await Self.startLateAckStream(cloud: cloud, ledger: ledger, group: group)
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
        try await Self.finishAfterRecovery(cloud: cloud, ledger: ledger, group: group)
    }

    /// Short ack waits and many attempts, so requests keep moving through a disk fault; started by the test,
    /// once its state_dir is mounted.
    static func midStreamHarness() throws -> CloudHarness {
        try CloudHarness(identity: "ack_timeout = \"1s\"\nmax_attempts = 10\nmax_inflight = 50", start: false)
    }

    /// Starts the agent and accepts 200 creates whose acks come slowly, so requests are in flight when the disk
    /// goes: their acks cannot be recorded until it is back.
    static func startLateAckStream(cloud: CloudHarness, ledger: FaultLedger, group: Int) async throws {
        try cloud.agent.start()
        try await cloud.responder.setBehaviour(#"{"mode":"late","delayMs":300}"#)
        try ledger.submitCreatesAnswered(faultIDs(FaultScale.requests(200), group: group), to: cloud.agent.socketPath)
    }

    /// Once the disk is back: 100 more creates, everything acked, the ledger's checks, a clean stop, an intact store.
    static func finishAfterRecovery(cloud: CloudHarness, ledger: FaultLedger, group: Int) async throws {
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

/// A 64 MiB ext4 image on a loop device mounted on a state_dir with `errors=remount-ro`, which turns read-only
/// under the store's feet when sent a filesystem error, as a failing SD card or eMMC does.
final class FailingStateDisk {
    let path: String
    private let image: String

    init(at path: String) throws {
        self.path = path
        image = path + ".ext4"
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw ChildProcessError("mkdir \(path): errno \(errno)") }
        try ChildProcess.run("/usr/bin/truncate", ["-s", "64M", image]).checked()
        try ChildProcess.run("/sbin/mkfs.ext4", ["-q", "-F", image]).checked()
        try mount()
    }

    private func mount() throws {
        try ChildProcess.run("/bin/mount", ["-o", "loop,errors=remount-ro", image, path]).checked()
        chmod(path, 0o700)
    }

    /// An ext4 error (`/sys/fs/ext4/DEV/trigger_fs_error`): the kernel remounts the filesystem read-only.
    func turnReadOnly() throws {
        let source = try ChildProcess.run("/bin/findmnt", ["-n", "-o", "SOURCE", path]).checked().stdout
        let device = source.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "/").last.map(String.init) ?? ""
        let trigger = "/sys/fs/ext4/\(device)/trigger_fs_error"
        guard let handle = FileHandle(forWritingAtPath: trigger) else { throw ChildProcessError("cannot open \(trigger)") }
        handle.write(Data("fault suite: the state_dir turns read-only\n".utf8))
        try handle.close()
        // Newer kernels mark the filesystem "emergency_ro" rather than flip the mount flag, so try a write.
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let probe = open(path + "/.probe", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            if probe < 0, errno == EROFS { return }
            if probe >= 0 { close(probe) }
            guard ContinuousClock.now < deadline else { throw ChildProcessError("\(path) is still writable") }
            usleep(20_000)
        }
    }

    /// Unmounts, checks and mounts the filesystem again (writable).
    func repair() throws {
        try ChildProcess.run("/bin/umount", [path]).checked()
        // Exit codes 0-2: clean, or errors corrected.
        let fsck = try ChildProcess.run("/sbin/e2fsck", ["-fy", image])
        guard case .exited(let code) = fsck.termination, code <= 2 else { throw ChildProcessError("e2fsck: \(fsck)") }
        try mount()
    }

    /// Unmounts (lazily, so a process still holding a file there cannot keep it mounted) and drops the image.
    func unmount() {
        _ = try? ChildProcess.run("/bin/umount", ["-l", path])
        unlink(image)
    }
}
