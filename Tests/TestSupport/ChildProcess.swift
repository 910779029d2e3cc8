import Glibc
import Synchronization

/// Why a child process could not be started, read or found.
public struct ChildProcessError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, naming the executable.
    public let description: String

    /// An error with this text.
    public init(_ description: String) { self.description = description }
}

/// A child process for tests: started with `posix_spawn`, its output read line by line, signalled, reaped.
///
/// Every program a test starts goes through here, so that each one starts the same safe way:
/// - an empty signal mask and default handlers: a child of a Swift concurrency thread would otherwise inherit
///   that thread's mask, which blocks SIGTERM, and a `stop()` would never reach it;
/// - no descriptor of the test process but its stdin, stdout and stderr: a child must not hold open the pipe
///   of another test's child (that test would never see end of file) or a socket a test closed;
/// - pipes that are close-on-exec from the moment they exist;
/// - a process group of its own, killed by `ChildReaper` if the test process ends without stopping it (a crash,
///   a SIGKILL, a CI timeout), so no broker or agent outlives the test run.
///
/// Waits are bounded: `stop` sends SIGTERM, waits, then SIGKILLs and reaps. The child is killed and reaped when
/// this object goes away, so a failing test leaves no process behind. Signalling, waiting and `isRunning` are
/// safe from any thread; reading output and writing stdin are for one test at a time.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `reaped` is a Mutex and `stdinWrite` an Atomic; the output readers are documented as
    // single-consumer (one test reads them).

    /// What the child's stdout or stderr is connected to.
    public enum Output: Sendable {
        /// The test process's own stream.
        case inherit
        /// /dev/null.
        case discard
        /// A pipe read with `readLine` / `readErrorLine`.
        case capture
        /// Appended to this file (created 0600 if missing); stdout and stderr may name the same file.
        case file(String)
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

        /// The status a shell would report: the exit status, or 128 + the signal.
        public var shellStatus: Int32 {
            switch self {
            case .exited(let code): code
            case .signaled(let signal): 128 + signal
            }
        }
    }

    /// What a program run to completion (`ChildProcess.run`) printed and how it ended.
    public struct Outcome: Sendable, CustomStringConvertible {
        /// The command line, for messages.
        public let command: String
        /// How it ended.
        public let termination: Termination
        /// Everything it wrote to stdout.
        public let stdout: String
        /// Everything it wrote to stderr.
        public let stderr: String

        /// True when it exited with status 0.
        public var succeeded: Bool { termination == .exited(0) }

        /// The command, how it ended and what it printed.
        public var description: String { "\(command): \(termination)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }

        /// Itself when it exited with status 0; otherwise throws with the command, its status and its output.
        @discardableResult
        public func checked() throws(ChildProcessError) -> Outcome {
            guard succeeded else { throw ChildProcessError(description) }
            return self
        }
    }

    /// The child's process id.
    public let pid: pid_t
    /// The path that was started.
    public let executable: String
    /// The executable and arguments, for messages.
    public let commandLine: String

    private let reaped = Mutex<Termination?>(nil)
    private let stdinWrite: Atomic<Int32>
    private let stdoutReader: CapturedOutput?
    private let stderrReader: CapturedOutput?
    /// For the secrets audit: where a `gateway-agent` child's output is recorded (see `TestTranscripts`).
    private let recording: ChildRecording?
    private let outputs: (stdout: Output, stderr: Output)

    /// Starts `executable` (a path) with `arguments`; `environment` entries are added to (or replace) this
    /// process's, and `workingDirectory` (if given) is the child's current directory.
    ///
    /// With `stdinPipe` the child reads what `writeToStdin` sends, and sees end of file on `closeStdin` or when
    /// the test process ends; otherwise its stdin is /dev/null.
    public convenience init(
        executable: String, arguments: [String] = [], environment: [String: String] = [:],
        stdout: Output = .capture, stderr: Output = .inherit, stdinPipe: Bool = false, workingDirectory: String? = nil
    ) throws(ChildProcessError) {
        try self.init(
            executable: executable, arguments: arguments, environment: environment, stdout: stdout, stderr: stderr,
            stdinPipe: stdinPipe, workingDirectory: workingDirectory, reaped: true)
    }

    /// As the public initializer; `reaped: false` only for the reaper itself.
    fileprivate init(
        executable: String, arguments: [String], environment: [String: String], stdout: Output, stderr: Output,
        stdinPipe: Bool, workingDirectory: String?, reaped watched: Bool
    ) throws(ChildProcessError) {
        let recording =
            watched ? TestTranscripts.recording(executable: executable, arguments: arguments, environment: environment) : nil
        self.recording = recording
        let stdout = recording?.output(stdout, stream: "stdout") ?? stdout
        let stderr = recording?.output(stderr, stream: "stderr") ?? stderr
        outputs = (stdout, stderr)
        self.executable = executable
        commandLine = ([executable] + arguments).joined(separator: " ")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { childEnds.forEach { _ = close($0) } }

        func connect(_ output: Output, to target: Int32) throws(ChildProcessError) -> Int32? {
            switch output {
            case .inherit: return nil
            case .discard:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
                return nil
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
                return nil
            case .capture:
                let ends = try closeOnExecPipe(for: executable)
                posix_spawn_file_actions_adddup2(&actions, ends.write, target)
                childEnds.append(ends.write)
                parentEnds.append(ends.read)
                return ends.read
            }
        }

        var stdinEnd: Int32 = -1
        let stdoutRead: Int32?
        let stderrRead: Int32?
        do {
            if stdinPipe {
                let ends = try closeOnExecPipe(for: executable)
                posix_spawn_file_actions_adddup2(&actions, ends.read, 0)
                childEnds.append(ends.read)
                parentEnds.append(ends.write)
                stdinEnd = ends.write
            } else {
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            }
            stdoutRead = try connect(stdout, to: 1)
            stderrRead = try connect(stderr, to: 2)
        } catch {
            parentEnds.forEach { _ = close($0) }
            throw error
        }
        if let workingDirectory {
            guard let addChdir = SpawnExtensions.addChdir else {
                parentEnds.forEach { _ = close($0) }
                throw ChildProcessError("cannot start \(executable) in \(workingDirectory): this C library has no "
                    + "posix_spawn_file_actions_addchdir_np (glibc 2.29 or newer has)")
            }
            _ = addChdir(&actions, workingDirectory)
        }
        // Last: everything above is in place on 0–2; nothing else of this process reaches the child.
        _ = SpawnExtensions.addCloseFrom?(&actions, 3)

        // The child starts with no blocked signals and default handlers, whatever the test runner's thread has.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // A group of its own (pgid = pid): the reaper kills the group, helpers a child started included, and the
        // terminal's Ctrl-C reaches only the test process, which stops its children itself.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

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
            let place = workingDirectory.map { " in \($0)" } ?? ""
            throw ChildProcessError("cannot start \(executable)\(place): \(String(cString: strerror(rc)))")
        }
        pid = child
        if watched { ChildReaper.watch(child) }
        stdinWrite = Atomic(stdinEnd)
        stdoutReader = stdoutRead.map { CapturedOutput($0, transcript: recording?.capturePath(stream: "stdout")) }
        stderrReader = stderrRead.map { CapturedOutput($0, transcript: recording?.capturePath(stream: "stderr")) }
    }

    deinit {
        if reap(blocking: false) == nil {
            send(SIGKILL)
            _ = reap(blocking: true)
        }
        closeStdin()
        stdoutReader?.close()
        stderrReader?.close()
    }

    /// Runs `executable` to completion and returns what it printed and how it ended; `stdin` (if given) is
    /// written to its standard input, which is then closed.
    ///
    /// stdout and stderr are read together, so a child filling either never blocks. Throws when it cannot be
    /// started, or when it has not finished within `timeout` (it is then killed; the output so far is in the error).
    @discardableResult
    public static func run(
        _ executable: String, _ arguments: [String] = [], environment: [String: String] = [:], stdin: String? = nil,
        workingDirectory: String? = nil, timeout: Duration = .seconds(60)
    ) throws(ChildProcessError) -> Outcome {
        let child = try ChildProcess(
            executable: executable, arguments: arguments, environment: environment, stdout: .capture,
            stderr: .capture, stdinPipe: stdin != nil, workingDirectory: workingDirectory)
        return try child.collect(stdin: stdin.map { Array($0.utf8) } ?? [], timeout: timeout)
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
        let descriptor = stdinWrite.load(ordering: .acquiring)
        guard descriptor >= 0 else { throw ChildProcessError("stdin of \(executable) is not a pipe, or closed") }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            // send, not write: a child that died must give EPIPE here, not SIGPIPE to the test process.
            let written = bytes.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw ChildProcessError("write to stdin of \(executable): \(String(cString: strerror(errno)))")
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Closes the child's stdin, so it reads end of file.
    public func closeStdin() {
        let descriptor = stdinWrite.exchange(-1, ordering: .acquiringAndReleasing)
        if descriptor >= 0 { close(descriptor) }
    }

    /// Sends `signal` (SIGTERM, SIGKILL, …) unless the child was already reaped.
    public func send(_ signal: Int32) {
        // Under the lock: once reaped, the pid may belong to another process.
        reaped.withLock { termination in
            if termination == nil { _ = kill(pid, signal) }
        }
    }

    /// True until the child has ended.
    public var isRunning: Bool { reap(blocking: false) == nil }

    /// How the child ended, or nil while it runs.
    public var termination: Termination? { reap(blocking: false) }

    /// How the child ended, or nil when it is still running after `timeout`.
    public func wait(timeout: Duration) -> Termination? {
        let deadline = ContinuousClock.now + timeout
        var pause: UInt32 = 1_000
        while true {
            if let ended = reap(blocking: false) { return ended }
            if ContinuousClock.now >= deadline { return nil }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
    }

    /// Waits up to `timeout` for the child to end; if it has not, kills it (SIGKILL) and returns that.
    @discardableResult
    public func wait(orKillAfter timeout: Duration = .seconds(30)) -> Termination {
        if let ended = wait(timeout: timeout) { return ended }
        send(SIGKILL)
        return reap(blocking: true) ?? .signaled(SIGKILL)
    }

    /// Sends `signal`, waits up to `grace` for the child to end, then kills it (SIGKILL); returns how it ended.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, grace: Duration = .seconds(5)) -> Termination {
        send(signal)
        return wait(orKillAfter: grace)
    }

    /// Reads stdout and stderr to end of file while writing `stdin`, then waits for the exit; all by `timeout`.
    private func collect(stdin: [UInt8], timeout: Duration) throws(ChildProcessError) -> Outcome {
        let deadline = ContinuousClock.now + timeout
        var pending = stdin[...]
        if pending.isEmpty { closeStdin() }
        let readers = [stdoutReader, stderrReader].compactMap { $0 }
        func outcome(_ termination: Termination) -> Outcome {
            Outcome(
                command: commandLine, termination: termination, stdout: stdoutReader?.takeAll() ?? "",
                stderr: stderrReader?.takeAll() ?? "")
        }
        func timedOut() -> ChildProcessError {
            let partial = outcome(stop(signal: SIGKILL))
            return ChildProcessError("\(commandLine) did not finish within \(timeout): \(partial)")
        }
        var stdinOpen: Int32 { stdinWrite.load(ordering: .acquiring) }
        while readers.contains(where: { !$0.atEnd }) || stdinOpen >= 0 {
            let input = stdinOpen
            var watched = readers.filter { !$0.atEnd }.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if input >= 0 { watched.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw timedOut() }
            let ready = poll(&watched, nfds_t(watched.count), milliseconds(left))
            if ready < 0, errno != EINTR {
                throw ChildProcessError("poll output of \(commandLine): \(String(cString: strerror(errno)))")
            }
            guard ready > 0 else { continue }
            for reader in readers where !reader.atEnd {
                if watched.contains(where: { $0.fd == reader.fd && $0.revents != 0 }) {
                    try reader.fill(name: "output of \(commandLine)")
                }
            }
            if input >= 0, let slot = watched.last, slot.fd == input, slot.revents != 0 {
                let flags = Int32(MSG_NOSIGNAL | MSG_DONTWAIT)
                let written = pending.withUnsafeBytes { Glibc.send(input, $0.baseAddress, $0.count, flags) }
                if written > 0 {
                    pending = pending.dropFirst(written)
                } else if written < 0, errno != EINTR, errno != EAGAIN {
                    // The child closed its stdin (or died): what it did not read, it did not want.
                    pending = []
                }
                if pending.isEmpty { closeStdin() }
            }
        }
        let left = deadline - ContinuousClock.now
        guard let ended = wait(timeout: max(left, .milliseconds(100))) else { throw timedOut() }
        return outcome(ended)
    }

    private func reap(blocking: Bool) -> Termination? {
        reaped.withLock { termination in
            if let termination { return termination }
            var status: Int32 = 0
            var result: pid_t
            repeat {
                result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            } while result < 0 && errno == EINTR
            if result == pid {
                termination = Self.termination(status)
                ChildReaper.forget(pid)
                recording?.finish(stdout: outputs.stdout, stderr: outputs.stderr)
            } else if result < 0 {
                // ECHILD: something else in this process reaped it; how it ended is lost.
                termination = .exited(-1)
            }
            return termination
        }
    }

    private static func termination(_ status: Int32) -> Termination {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }
}

/// A shell that outlives the test process by a moment: it learns each child's pid as the child starts and forgets it
/// once reaped; when its stdin reaches end of file, which happens however the test process ends, it kills the
/// process group of every child still listed.
///
/// Only the test process holds the write end of its stdin (close-on-exec; children close all inherited descriptors).
/// It ignores SIGINT, SIGTERM and SIGHUP, so a Ctrl-C or a CI timeout that stops the test process cannot stop it
/// first.
private enum ChildReaper {
    private static let script = """
        trap '' INT TERM HUP
        while read -r sign pid; do
          case $sign in +) eval "live_$pid=1" ;; -) unset "live_$pid" ;; esac
        done
        for pid in $(set | sed -n 's/^live_\\([0-9][0-9]*\\)=.*/\\1/p'); do
          kill -KILL -"$pid" "$pid" 2>/dev/null
        done
        """

    /// The reaper and the lock that keeps each line whole; nil when it could not be started (nothing is reaped).
    private static let reaper: Mutex<ChildProcess?> = Mutex(
        try? ChildProcess(
            executable: "/bin/sh", arguments: ["-c", script], environment: [:], stdout: .discard, stderr: .discard,
            stdinPipe: true, workingDirectory: nil, reaped: false))

    /// Lists `pid` as running.
    static func watch(_ pid: pid_t) { tell("+ \(pid)\n") }

    /// Unlists `pid`: it was reaped, its pid may be reused.
    static func forget(_ pid: pid_t) { tell("- \(pid)\n") }

    private static func tell(_ line: String) {
        reaper.withLock { reaper in
            // A reaper gone (killed by hand) only means no clean-up after a crash; the tests go on.
            try? reaper?.writeToStdin(line)
        }
    }
}

/// A connected pair of close-on-exec descriptors: bytes written to `write` are read from `read`.
///
/// A socket pair rather than `pipe()`: Glibc's Swift overlay does not export `pipe2`, and `SOCK_CLOEXEC` sets
/// close-on-exec atomically, so a child another test spawns meanwhile cannot inherit (and hold open) either end.
func closeOnExecPipe(for purpose: String) throws(ChildProcessError) -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    guard socketpair(AF_UNIX, type, 0, &fds) == 0 else {
        throw ChildProcessError("pipe for \(purpose): \(String(cString: strerror(errno)))")
    }
    return (fds[0], fds[1])
}

/// glibc's `posix_spawn` extensions that its Swift overlay hides (they are declared under `_GNU_SOURCE`), looked up
/// by name in the C library already loaded; nil where the C library lacks them.
private enum SpawnExtensions {
    typealias Actions = UnsafeMutablePointer<posix_spawn_file_actions_t>
    typealias AddCloseFrom = @convention(c) (Actions, Int32) -> Int32
    typealias AddChdir = @convention(c) (Actions, UnsafePointer<CChar>) -> Int32

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34).
    static var addCloseFrom: AddCloseFrom? { symbol("posix_spawn_file_actions_addclosefrom_np") }
    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29).
    static var addChdir: AddChdir? { symbol("posix_spawn_file_actions_addchdir_np") }

    private static func symbol<Function>(_ name: String) -> Function? {
        // A null handle is RTLD_DEFAULT: the global symbols of this process, libc among them.
        guard let address = dlsym(nil, name) else { return nil }
        return unsafeBitCast(address, to: Function.self)
    }
}

/// Milliseconds for `poll`, rounded up so a short wait is not a busy loop.
private func milliseconds(_ duration: Duration) -> Int32 {
    let (seconds, attoseconds) = duration.components
    return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
}

/// Buffers a pipe's bytes and hands them out one newline-terminated line at a time, or all at once.
private final class CapturedOutput {
    private(set) var fd: Int32
    private var buffer: [UInt8] = []
    private(set) var atEnd = false
    /// A file every byte read is also appended to (`TestTranscripts`).
    private let transcript: String?

    init(_ fd: Int32, transcript: String?) {
        self.fd = fd
        self.transcript = transcript
    }

    var remainder: String { atEnd ? String(decoding: buffer, as: UTF8.self) : "" }

    func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }

    /// Everything buffered, emptied.
    func takeAll() -> String {
        defer { buffer = [] }
        return String(decoding: buffer, as: UTF8.self)
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
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, milliseconds(left))
            if ready < 0, errno != EINTR {
                throw ChildProcessError("poll \(name): \(String(cString: strerror(errno)))")
            }
            guard ready > 0 else { continue }
            try fill(name: name)
        }
    }

    /// One read of what is available (poll said so): appended to the buffer, or end of file noted.
    func fill(name: String) throws(ChildProcessError) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR || errno == EAGAIN { return }
            // ECONNRESET: the child died with unread stdin; what it wrote before is already buffered.
            if errno == ECONNRESET {
                atEnd = true
                return
            }
            throw ChildProcessError("read \(name): \(String(cString: strerror(errno)))")
        }
        if count == 0 {
            atEnd = true
        } else {
            buffer.append(contentsOf: chunk[..<count])
            if let transcript { TestTranscripts.append(chunk[..<count], to: transcript) }
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
