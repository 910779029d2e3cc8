import Glibc
import Synchronization

/// A fresh directory under `$TMPDIR` (or /tmp), mode 0700, for tests that need real files.
///
/// Remove it with `remove()` (e.g. `defer { directory.remove() }`) or use `TempDirectory.with { … }`;
/// it is not removed on deinit, so a path taken from it stays valid for as long as the test uses it.
/// A fixture shared by the whole test process takes `TempDirectory.removedAtExit(prefix:)` instead.
public struct TempDirectory: Sendable {
    /// Absolute path of the directory.
    public let path: String

    /// Creates the directory; `prefix` shows in its name to tell tests apart.
    public init(prefix: String = "gateway-agent-test") throws(TempDirectoryError) {
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        guard let created else { throw TempDirectoryError(operation: "mkdtemp", path: base, code: errno) }
        path = created
    }

    /// A new directory removed when the test process exits: for fixtures that live as long as the process
    /// (shared certificates, shared servers), which have no test to remove them.
    public static func removedAtExit(prefix: String) throws(TempDirectoryError) -> TempDirectory {
        let directory = try TempDirectory(prefix: prefix)
        exitRemoval.withLock { $0.append(directory.path) }
        _ = exitRemovalInstalled
        return directory
    }

    /// Runs `body` with a new directory and removes the directory afterwards.
    public static func with<Result>(
        prefix: String = "gateway-agent-test", _ body: (TempDirectory) throws -> Result
    ) throws -> Result {
        let directory = try TempDirectory(prefix: prefix)
        defer { directory.remove() }
        return try body(directory)
    }

    /// `name` (which may contain `/`) inside the directory.
    public func path(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes `contents` to `name` with `mode`, creating parent directories (0700); returns the path.
    @discardableResult
    public func file(_ name: String, contents: String, mode: UInt32 = 0o600) throws(TempDirectoryError) -> String {
        let target = path(name)
        if let slash = name.lastIndex(of: "/") { try directory(String(name[..<slash])) }
        let descriptor = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode))
        guard descriptor >= 0 else { throw TempDirectoryError(operation: "open", path: target, code: errno) }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw TempDirectoryError(operation: "write", path: target, code: errno) }
        // open() applied the umask; the test asked for exactly `mode`.
        try chmod(name, mode: mode)
        return target
    }

    /// Creates `name` and its parents (mode 0700) if missing; returns the path.
    @discardableResult
    public func directory(_ name: String) throws(TempDirectoryError) -> String {
        var current = path
        for part in name.split(separator: "/") {
            current += "/\(part)"
            if mkdir(current, 0o700) != 0 && errno != EEXIST {
                throw TempDirectoryError(operation: "mkdir", path: current, code: errno)
            }
        }
        return current
    }

    /// Sets the permission bits of `name`.
    public func chmod(_ name: String, mode: UInt32) throws(TempDirectoryError) {
        guard Glibc.chmod(path(name), mode_t(mode)) == 0 else {
            throw TempDirectoryError(operation: "chmod", path: path(name), code: errno)
        }
    }

    /// Creates a symbolic link `name` pointing at `target`.
    public func symlink(_ name: String, to target: String) throws(TempDirectoryError) {
        guard Glibc.symlink(target, path(name)) == 0 else {
            throw TempDirectoryError(operation: "symlink", path: path(name), code: errno)
        }
    }

    /// Deletes the directory and everything in it (best effort).
    public func remove() {
        Self.removeTree(path)
    }

    fileprivate static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            // A test may have made a directory unreadable to check an error; give access back first.
            _ = Glibc.chmod(path, 0o700)
            if let directory = opendir(path) {
                var names: [String] = []
                while let entry = readdir(directory) {
                    let name = withUnsafePointer(to: entry.pointee.d_name) {
                        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(directory)
                for name in names { removeTree("\(path)/\(name)") }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// A file operation of `TempDirectory` that failed, with errno's text.
public struct TempDirectoryError: Error, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let code: Int32

    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// Directories `TempDirectory.removedAtExit` made, removed by the handler below.
private let exitRemoval = Mutex<[String]>([])

/// Installed once, on first use; statics are never deinitialised, so exit is the one moment to clean up.
private let exitRemovalInstalled: Void = {
    atexit {
        for path in exitRemoval.withLock({ $0 }) { TempDirectory.removeTree(path) }
    }
}()
