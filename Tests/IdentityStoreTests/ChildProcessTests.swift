import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport

/// The one way tests start programs, checked against /bin/sh and friends.
@Suite("ChildProcess test helper", .blockingWaits)
struct ChildProcessTests {
    @Test("stdout lines come in order; a last line without newline is kept aside; the exit status is reported")
    func linesAndExitStatus() throws {
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "echo one; echo two; printf three; exit 3"])
        #expect(try child.readAllLines() == ["one", "two"])
        #expect(child.unterminatedOutput == "three")
        #expect(child.wait() == .exited(3))
    }

    @Test("a signal ends the child and wait reports it")
    func signalEndsChild() throws {
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "echo ready; exec sleep 30"])
        #expect(try child.readLine() == "ready")
        #expect(child.wait(timeout: .milliseconds(50)) == nil)
        child.send(SIGTERM)
        #expect(child.wait() == .signaled(SIGTERM))
    }

    @Test("stdin can be written and closed; environment entries reach the child")
    func stdinAndEnvironment() throws {
        let child = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "echo \"$GREETING\"; cat"], environment: ["GREETING": "hi"],
            stdinPipe: true)
        try child.writeToStdin("hello\n")
        #expect(try child.readLine() == "hi")
        #expect(try child.readLine() == "hello")
        child.closeStdin()
        #expect(try child.readLine() == nil)
        #expect(child.wait() == .exited(0))
    }

    @Test("lines arriving within a time window are collected without waiting for the end")
    func linesWithinWindow() throws {
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "echo a; echo b; exec sleep 30"])
        let started = ContinuousClock.now
        #expect(try child.readLines(for: .milliseconds(300)) == ["a", "b"])
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test("a child started from a thread that blocks every signal starts with none blocked and stops on SIGTERM")
    func signalMaskNotInherited() throws {
        let spawned = Mutex<Result<(ChildProcess.Outcome, ChildProcess), ChildProcessError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_BLOCK, &all, nil)
            // Not through sh: a shell blocks signals for a moment while it forks.
            let result = Result { () throws(ChildProcessError) in
                (
                    try ChildProcess.run("/bin/grep", ["SigBlk", "/proc/self/status"]),
                    try ChildProcess(executable: "/bin/sleep", arguments: ["30"])
                )
            }
            spawned.withLock { $0 = result }
            done.signal()
        }
        thread.start()
        #expect(done.wait(timeout: .now() + 10) == .success)
        let (status, child) = try #require(try spawned.withLock { $0 }?.get())
        #expect(status.stdout == "SigBlk:\t0000000000000000\n", "\(status)")
        #expect(child.stop(grace: .seconds(5)) == .signaled(SIGTERM))
    }

    @Test("a child inherits no descriptor of the test process besides stdin, stdout and stderr")
    func noInheritedDescriptors() throws {
        // Deliberately without O_CLOEXEC, as C libraries inside the product open files.
        let leaked = open("/dev/null", O_RDONLY)
        defer { close(leaked) }
        #expect(leaked > 2)
        let outcome = try ChildProcess.run("/bin/sh", ["-c", "ls /proc/$$/fd"]).checked()
        #expect(outcome.stdout.split(separator: "\n") == ["0", "1", "2"])
    }

    @Test("run writes stdin and collects megabytes on stdout and stderr at once, without blocking on either")
    func runCollectsBothStreams() throws {
        let input = String(repeating: "line of input\n", count: 50_000)
        let outcome = try ChildProcess.run(
            "/bin/sh", ["-c", "yes error | head -n 100000 >&2; cat; exit 4"], stdin: input, timeout: .seconds(30))
        #expect(outcome.termination == .exited(4))
        #expect(outcome.stdout == input)
        #expect(outcome.stderr.count == 600_000)
        #expect(throws: ChildProcessError.self) { try outcome.checked() }
    }

    @Test("run kills a child that outlives its timeout and says so")
    func runTimeout() throws {
        let started = ContinuousClock.now
        #expect {
            try ChildProcess.run("/bin/sh", ["-c", "echo partial; exec sleep 30"], timeout: .milliseconds(300))
        } throws: { error in
            "\(error)".contains("did not finish within") && "\(error)".contains("partial")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("output can go to a file and the child can start in another directory")
    func fileOutputAndWorkingDirectory() throws {
        try TempDirectory.with(prefix: "child-process") { directory in
            let log = directory.path("out.log")
            let child = try ChildProcess(
                executable: "/bin/sh", arguments: ["-c", "pwd; echo to-stderr >&2"], stdout: .file(log),
                stderr: .file(log), workingDirectory: directory.path)
            #expect(child.wait(orKillAfter: .seconds(10)) == .exited(0))
            let text = try String(contentsOfFile: log, encoding: .utf8)
            #expect(text == "\(directory.path)\nto-stderr\n")
        }
    }

    @Test("stop kills a child that ignores SIGTERM once the grace period is over")
    func stopEscalates() throws {
        let child = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "trap '' TERM; echo ready; exec sleep 30"])
        #expect(try child.readLine() == "ready")
        let started = ContinuousClock.now
        #expect(child.stop(grace: .milliseconds(300)) == .signaled(SIGKILL))
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(!child.isRunning)
    }

    @Test("a suite with .blockingWaits runs on threads of its own, not on Swift concurrency's")
    func blockingWaitsThreads() async throws {
        #expect(BlockingWaitsTrait.isCurrentThread)
        try await Task.sleep(for: .milliseconds(10))
        #expect(BlockingWaitsTrait.isCurrentThread, "after a suspension")
        let elsewhere = await Task.detached { BlockingWaitsTrait.isCurrentThread }.value
        #expect(!elsewhere, "a detached task runs on Swift concurrency's threads")
    }

    @Test("a missing built executable is reported with how to build it")
    func missingExecutable() {
        #expect {
            try builtExecutable(named: "no-such-tool")
        } throws: { error in
            "\(error)".contains("swift build --product no-such-tool")
        }
    }
}
