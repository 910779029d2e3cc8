import COpenSSL

/// An OpenSSL operation that failed, with OpenSSL's own explanation from its error queue.
public struct CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was being done, e.g. `computing an HMAC-SHA256`.
    public let operation: String
    /// OpenSSL's error-queue text, or a plain reason when OpenSSL gave none.
    public let reason: String

    /// Records a failure of `operation`, taking (and clearing) this thread's OpenSSL error queue.
    public init(failed operation: String) {
        self.operation = operation
        self.reason = OpenSSLErrorQueue.drain() ?? "OpenSSL gave no reason"
    }

    /// Records a failure of `operation` for a reason this module determined itself.
    public init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(operation) failed: \(reason)" }
}

/// The one place that reads OpenSSL's per-thread error queue.
public enum OpenSSLErrorQueue {
    /// Empties this thread's error queue; returns its entries oldest first, joined by `; `, or nil when it was empty.
    public static func drain() -> String? {
        var entries: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            // Bounded so a flood of queued errors cannot make an unbounded message.
            guard entries.count < 8 else { continue }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            entries.append(
                String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return entries.isEmpty ? nil : entries.joined(separator: "; ")
    }

    /// Discards stale entries before an operation whose failure will be reported.
    public static func clear() {
        ERR_clear_error()
    }
}
