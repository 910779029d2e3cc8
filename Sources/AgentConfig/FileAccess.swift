import Glibc

/// What `stat` reports about a path (symbolic links followed).
struct FileStatus {
    let isRegularFile: Bool
    let isDirectory: Bool
    /// Permission bits only (`mode & 0o7777`).
    let permissions: UInt32
    let owner: UInt32
}

/// A failed system call on a path, keeping `errno` so callers can tell "missing" from "forbidden".
struct FileAccessError: Error {
    let code: Int32

    var isMissing: Bool { code == ENOENT || code == ENOTDIR }

    /// errno in words, e.g. "does not exist", "permission denied".
    var reason: String {
        switch code {
        case ENOENT, ENOTDIR: return "does not exist"
        case EACCES, EPERM: return "permission denied"
        default: return String(cString: strerror(code)).lowercased()
        }
    }
}

/// Why a file could not be read into memory: a system call failed, or the file's type or mode was refused.
enum FileReadFailure: Error {
    case system(FileAccessError)
    case refused(String)
}

/// The few file system calls the loader needs, in one place; each retries `EINTR` and keeps `errno`.
enum FileAccess {
    static func status(_ path: String) -> Result<FileStatus, FileAccessError> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(FileAccessError(code: errno)) }
        return .success(FileStatus(info))
    }

    /// Whether this process may read `path` (root always may).
    static func isReadable(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }

    /// Reads at most `limit` bytes of a regular file; `check` sees the status of the opened file
    /// (not of the path, so a file swapped in between cannot slip through) and may refuse it.
    static func read(
        _ path: String, limit: Int, check: (FileStatus) -> String? = { _ in nil }
    ) throws(FileReadFailure) -> [UInt8] {
        // O_NONBLOCK so that a FIFO named by mistake cannot block the agent; it is refused below.
        let descriptor = retrying { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        guard descriptor >= 0 else { throw .system(FileAccessError(code: errno)) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .system(FileAccessError(code: errno)) }
        let status = FileStatus(info)
        guard status.isRegularFile else {
            throw .refused(status.isDirectory ? "is a directory, not a file" : "is not a regular file")
        }
        if let refusal = check(status) { throw .refused(refusal) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                retrying { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
            }
            guard count >= 0 else { throw .system(FileAccessError(code: errno)) }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= limit else { throw .refused("is larger than \(limit) bytes") }
        }
    }

    /// Names in a directory, without `.` and `..`.
    static func entries(ofDirectory path: String) -> Result<[String], FileAccessError> {
        guard let directory = opendir(path) else { return .failure(FileAccessError(code: errno)) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                    String(cString: $0)
                }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return .success(names)
    }

    /// The working directory, to make relative `--config` paths absolute.
    static func currentDirectory() -> String {
        guard let pointer = getcwd(nil, 0) else { return "/" }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// The effective user id, for "not readable by uid N" messages.
    static var effectiveUser: UInt32 { geteuid() }

    private static func retrying<Result: BinaryInteger>(_ call: () -> Result) -> Result {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }
}

extension FileStatus {
    fileprivate init(_ info: stat) {
        let type = info.st_mode & S_IFMT
        isRegularFile = type == S_IFREG
        isDirectory = type == S_IFDIR
        permissions = UInt32(info.st_mode & 0o7777)
        owner = info.st_uid
    }
}
