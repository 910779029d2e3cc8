import Glibc

/// Whether a file descriptor is connected to the systemd journal, as sd-daemon(3) asks programs to check:
/// `$JOURNAL_STREAM` holds `device:inode` of the stream systemd connected, and it only counts if the descriptor is
/// still that stream (a child whose stderr was redirected inherits the variable but not the stream).
public enum JournalStream {
    /// True when `environment["JOURNAL_STREAM"]` names the device and inode of `descriptor`.
    public static func isConnected(descriptor: Int32 = STDERR_FILENO, environment: [String: String]) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// The `$JOURNAL_STREAM` value that identifies `descriptor`, or nil when it cannot be examined.
    public static func identity(of descriptor: Int32) -> String? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        return "\(status.st_dev):\(status.st_ino)"
    }
}
