import Glibc
import Synchronization

/// Where finished log lines go. `write` receives one whole line, newline included.
public protocol LogOutput: Sendable {
    /// Writes `line` at once; never buffers it for later.
    func write(line: String)
}

/// Writes each line with one write(2) on a file descriptor (standard error by default).
public final class FileDescriptorLogOutput: LogOutput {
    private let descriptor: Int32
    // Serialises writers so that lines longer than PIPE_BUF never interleave within this process.
    private let writeLock = Mutex(())

    /// Output to `descriptor`, which stays owned by the caller.
    public init(descriptor: Int32 = STDERR_FILENO) {
        self.descriptor = descriptor
    }

    /// Writes `line`, retrying short writes and EINTR; a closed or full descriptor loses the line rather than
    /// blocking or crashing the agent.
    public func write(line: String) {
        var bytes = Array(line.utf8)
        writeLock.withLock { _ in
            bytes.withUnsafeMutableBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else {
                        return
                    }
                }
            }
        }
    }
}
