import Glibc

/// The exclusive `flock` on `state_dir/agent.lock` that makes one agent the only writer of a state_dir.
///
/// The kernel drops the lock when the holder's last descriptor closes, so a killed agent never leaves a
/// stale lock behind. The file holds the holder's pid, for the error a second agent prints; the file is never
/// removed (removing it would let two agents lock two different inodes).
final class StateDirectoryLock {
    let path: String
    private var descriptor: Int32

    /// How long a held lock is tried again before the store refuses to open: long enough for an agent that
    /// is just exiting (a systemd restart) to let go, short enough to fail fast when another agent runs.
    static let patience: Duration = .milliseconds(500)

    /// Creates `stateDir` (0700) if missing and takes the lock, waiting at most `patience`.
    init(stateDir: String) throws(StoreError) {
        try Self.createDirectory(stateDir)
        path = stateDir + "/agent.lock"
        // O_CLOEXEC: a child the agent spawns must not inherit, and so keep, the lock.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.stateDir(path: path, operation: "open lock file", errno: errno) }
        let deadline = ContinuousClock.now + Self.patience
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            if failure == EINTR { continue }
            if failure == EWOULDBLOCK, ContinuousClock.now < deadline {
                usleep(25_000)
                continue
            }
            if failure == EWOULDBLOCK {
                let holder = Self.readPID(fd)
                close(fd)
                throw StoreError.stateDirInUse(stateDir: stateDir, pid: holder)
            }
            close(fd)
            throw StoreError.stateDir(path: path, operation: "lock", errno: failure)
        }
        descriptor = fd
        let pid = "\(getpid())\n"
        // The pid is informational only; failing to write it must not stop the agent.
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit { release() }

    /// Closes the descriptor, which releases the lock.
    func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        return text.split(whereSeparator: \.isWhitespace).first.flatMap { Int32($0) }
    }

    /// `mkdir -p`: missing parents get 0755, the state directory itself 0700 (it holds the outbox).
    private static func createDirectory(_ path: String, mode: mode_t = 0o700) throws(StoreError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw StoreError.stateDir(path: path, operation: "use as directory", errno: ENOTDIR)
            }
            return
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try createDirectory(String(path[..<slash]), mode: 0o755)
        }
        if mkdir(path, mode) != 0, errno != EEXIST {
            throw StoreError.stateDir(path: path, operation: "create directory", errno: errno)
        }
    }
}
