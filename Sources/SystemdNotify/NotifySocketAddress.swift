import Glibc

/// Where `$NOTIFY_SOCKET` points: a filesystem path (`/run/systemd/notify`) or an abstract name (`@name`).
struct NotifySocketAddress: Sendable, Equatable {
    /// The bytes of `sun_path` that name the socket: the path, or a NUL followed by the abstract name.
    let pathBytes: [UInt8]

    /// nil for values the agent cannot send to: empty, relative, too long, or another family (`vsock:`).
    init?(_ value: String) {
        let bytes = Array(value.utf8)
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        if bytes.first == UInt8(ascii: "@") {
            guard bytes.count > 1, bytes.count <= capacity else { return nil }
            pathBytes = [0] + bytes.dropFirst()
        } else if bytes.first == UInt8(ascii: "/") {
            // One byte stays free for the terminating NUL.
            guard bytes.count < capacity, !bytes.contains(0) else { return nil }
            pathBytes = bytes
        } else {
            return nil
        }
    }

    /// Calls `body` with the address as sockaddr and its exact length (abstract names are not NUL-terminated).
    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: pathBytes)
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let isAbstract = pathBytes.first == 0
        let length = socklen_t(pathOffset + pathBytes.count + (isAbstract ? 0 : 1))
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
