#if canImport(Glibc)
import Glibc
#endif

/// Why a textfile could not be written.
public struct TextfileError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

/// Writes the metrics file for node_exporter's textfile collector so that a reader never sees half of it:
/// a temporary file in the same directory (a name the collector ignores), synced, then renamed over the target.
public struct TextfileWriter: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The temporary file's path: hidden, and without the `.prom` suffix the collector reads.
    var temporaryPath: String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(directory).\(name).\(getpid()).tmp"
    }

    public func write(_ text: String) throws(TextfileError) {
        let temporary = temporaryPath
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let error = failure("cannot write \(temporary)")
                close(fd)
                unlink(temporary)
                throw error
            }
            written += count
        }
        // fchmod: the umask must not hide the file from node_exporter.
        fchmod(fd, 0o644)
        let synced = fsync(fd) == 0
        guard close(fd) == 0, synced else {
            let error = failure("cannot write \(temporary)")
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = failure("cannot rename \(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
    }

    private func failure(_ what: String) -> TextfileError {
        TextfileError(description: "metrics.textfile: \(what): \(String(cString: strerror(errno)))")
    }
}
