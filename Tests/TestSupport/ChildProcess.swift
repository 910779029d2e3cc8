import Glibc

/// Why a child process could not be started, read or found.
public struct ChildProcessError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, naming the executable.
    public let description: String

    /// An error with this text.
    public init(_ description: String) { self.description = description }
}

/// A child process for tests: started with `posix_spawn`, its output read line by line, signalled, reaped.
///
/// The child is killed (SIGKILL) and reaped when this object goes away, so a failing test leaves no process
/// behind. Not `Sendable`: one test drives it.
public final class ChildProcess {
    /// What the child's stdout or stderr is connected to.
    public enum Output: Sendable {
        /// The test process's own stream.
        case inherit
        /// /dev/null.
        case discard
        /// A pipe read with `readLine` / `readErrorLine`.
        case capture
    }

    /// How the child ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        /// `exit(status)`.
        case exited(Int32)
        /// Killed by this signal.
        case signaled(Int32)

        /// "exited with status 3", "killed by signal 9".
        public var description: String {
            switch self {
            case .exited(let code): "exited with status \(code)"
            case .signaled(let signal): "killed by signal \(signal)"
            }
        }
    }

    /// The child's process id.
    public let pid: pid_t
    /// The path that was started.
    public let executable: String
    /// How the child ended, once `wait` saw it.
    public private(set) var termination: Termination?

    private var stdinWrite: Int32
    private let stdoutReader: LineReader?
    private let stderrReader: LineReader?

    /// Starts `executable` with `arguments`; `environment` entries are added to (or replace) this process's.
    ///
    /// With `stdinPipe` the child reads what `writeToStdin` sends; otherwise its stdin is /dev/null.
    public init(
        executable: String, arguments: [String] = [], environment: [String: String] = [:],
        stdout: Output = .capture, stderr: Output = .inherit, stdinPipe: Bool = false
    ) throws(ChildProcessError) {
        self.executable = executable
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { childEnds.forEach { _ = close($0) } }

        func makePipe() throws(ChildProcessError) -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            // A socket pair rather than pipe(): Glibc does not export pipe2, and SOCK_CLOEXEC sets close-on-exec
            // atomically, so a child another test spawns meanwhile cannot inherit (and hold open) our end.
            let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            guard socketpair(AF_UNIX, type, 0, &fds) == 0 else {
                throw ChildProcessError("pipe for \(executable): \(String(cString: strerror(errno)))")
            }
            return (fds[0], fds[1])
        }
        func connect(_ output: Output, to target: Int32) throws(ChildProcessError) -> Int32? {
            switch output {
            case .inherit: return nil
            case .discard:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
                return nil
            case .capture:
                let ends = try makePipe()
                posix_spawn_file_actions_adddup2(&actions, ends.write, target)
                childEnds.append(ends.write)
                parentEnds.append(ends.read)
                return ends.read
            }
        }

        var stdinEnd: Int32 = -1
        if stdinPipe {
            let ends = try makePipe()
            posix_spawn_file_actions_adddup2(&actions, ends.read, 0)
            childEnds.append(ends.read)
            parentEnds.append(ends.write)
            stdinEnd = ends.write
            // A write to a child that died must fail with EPIPE, not kill the test process.
            signal(SIGPIPE, SIG_IGN)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        let stdoutRead = try connect(stdout, to: 1)
        let stderrRead = try connect(stderr, to: 2)

        // The child starts with no blocked signals and default handlers, whatever the test runner's thread has.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGPIPE, SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var merged: [String: String] = [:]
        var entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        while let pointer = entry?.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                merged[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry = entry?.advanced(by: 1)
        }
        merged.merge(environment) { _, new in new }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            parentEnds.forEach { _ = close($0) }
            throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
        stdinWrite = stdinEnd
        stdoutReader = stdoutRead.map(LineReader.init)
        stderrReader = stderrRead.map(LineReader.init)
    }

    deinit {
        if termination == nil {
            kill(pid, SIGKILL)
            wait()
        }
        closeStdin()
        stdoutReader?.close()
        stderrReader?.close()
    }

    /// The next line of stdout without its newline; nil at end of file. Throws when none comes within `timeout`.
    ///
    /// A last line without a newline (a child killed mid-write) is not returned: see `unterminatedOutput`.
    public func readLine(timeout: Duration = .seconds(10)) throws(ChildProcessError) -> String? {
        guard let stdoutReader else { throw ChildProcessError("stdout of \(executable) is not captured") }
        return try stdoutReader.line(timeout: timeout, name: "stdout of \(executable)")
    }

    /// The next line of stderr, as `readLine` for stdout.
    public func readErrorLine(timeout: Duration = .seconds(10)) throws(ChildProcessError) -> String? {
        guard let stderrReader else { throw ChildProcessError("stderr of \(executable) is not captured") }
        return try stderrReader.line(timeout: timeout, name: "stderr of \(executable)")
    }

    /// The stdout lines that arrive within `duration` (fewer if stdout ends first).
    public func readLines(for duration: Duration) throws(ChildProcessError) -> [String] {
        guard let stdoutReader else { throw ChildProcessError("stdout of \(executable) is not captured") }
        let deadline = ContinuousClock.now + duration
        var lines: [String] = []
        while case .line(let line) = try stdoutReader.next(until: deadline, name: "stdout of \(executable)") {
            lines.append(line)
        }
        return lines
    }

    /// Every remaining stdout line up to end of file.
    public func readAllLines(timeout: Duration = .seconds(10)) throws(ChildProcessError) -> [String] {
        var lines: [String] = []
        while let line = try readLine(timeout: timeout) { lines.append(line) }
        return lines
    }

    /// Bytes of stdout after the last newline, once end of file was reached.
    public var unterminatedOutput: String { stdoutReader?.remainder ?? "" }

    /// Writes `text` to the child's stdin (started with `stdinPipe: true`).
    public func writeToStdin(_ text: String) throws(ChildProcessError) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(stdinWrite, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ChildProcessError("write to stdin of \(executable): \(String(cString: strerror(errno)))")
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Closes the child's stdin, so it reads end of file.
    public func closeStdin() {
        guard stdinWrite >= 0 else { return }
        close(stdinWrite)
        stdinWrite = -1
    }

    /// Sends `signal` (SIGTERM, SIGKILL, …) unless the child was already reaped.
    public func send(_ signal: Int32) {
        guard termination == nil else { return }
        kill(pid, signal)
    }

    /// Blocks until the child ends and returns how.
    @discardableResult
    public func wait() -> Termination {
        if let termination { return termination }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let ended = Self.termination(status)
        termination = ended
        return ended
    }

    /// How the child ended, or nil when it is still running after `timeout`.
    public func wait(timeout: Duration) -> Termination? {
        if let termination { return termination }
        let deadline = ContinuousClock.now + timeout
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let ended = Self.termination(status)
                termination = ended
                return ended
            }
            if ContinuousClock.now >= deadline { return nil }
            usleep(10_000)
        }
    }

    private static func termination(_ status: Int32) -> Termination {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }
}

/// Buffers a pipe's bytes and hands them out one newline-terminated line at a time.
private final class LineReader {
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var atEnd = false

    init(_ fd: Int32) { self.fd = fd }

    var remainder: String { atEnd ? String(decoding: buffer, as: UTF8.self) : "" }

    func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }

    enum Next {
        case line(String)
        case end
        case timedOut
    }

    /// The next complete line, or nil at end of file; throws when `timeout` passes first.
    func line(timeout: Duration, name: String) throws(ChildProcessError) -> String? {
        switch try next(until: ContinuousClock.now + timeout, name: name) {
        case .line(let line): return line
        case .end: return nil
        case .timedOut: throw ChildProcessError("no line on \(name) within \(timeout)")
        }
    }

    func next(until deadline: ContinuousClock.Instant, name: String) throws(ChildProcessError) -> Next {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return .line(line)
            }
            if atEnd || fd < 0 { return .end }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return .timedOut }
            let (seconds, attoseconds) = left.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0, errno != EINTR {
                throw ChildProcessError("poll \(name): \(String(cString: strerror(errno)))")
            }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw ChildProcessError("read \(name): \(String(cString: strerror(errno)))")
            }
            if count == 0 {
                atEnd = true
            } else {
                buffer.append(contentsOf: chunk[..<count])
            }
        }
    }
}

/// The path of an executable target built beside the test bundle (e.g. `.build/debug/store-writer`).
///
/// SwiftPM puts every product of a build in one directory, the one holding the running test binary.
public func builtExecutable(named name: String) throws(ChildProcessError) -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { throw ChildProcessError("cannot read /proc/self/exe: \(String(cString: strerror(errno)))") }
    let running = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let directory = running.lastIndex(of: "/").map { String(running[..<$0]) } ?? "."
    let candidate = directory + "/" + name
    guard access(candidate, X_OK) == 0 else {
        throw ChildProcessError(
            "\(name) not found at \(candidate): build it with `swift build --product \(name)` "
                + "(or `swift build --build-tests`) before running the tests")
    }
    return candidate
}
