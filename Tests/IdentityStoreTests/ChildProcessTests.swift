import Glibc
import Testing
import TestSupport

/// The test helper the crash-safety test relies on, checked against /bin/sh and /bin/cat.
@Suite("ChildProcess test helper")
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

    @Test("a missing built executable is reported with how to build it")
    func missingExecutable() {
        #expect {
            try builtExecutable(named: "no-such-tool")
        } throws: { error in
            "\(error)".contains("swift build --product no-such-tool")
        }
    }
}
