import Glibc

/// A process that connected to the tunnel's socket but is not this agent, so it was turned away.
public struct RefusedPeer: Sendable, Equatable, CustomStringConvertible {
    /// The peer's process id.
    public let pid: Int32
    /// The peer's user id.
    public let uid: UInt32

    /// The peer for logs.
    public var description: String { "process \(pid) (uid \(uid))" }
}

/// The tunnel's listening Unix socket in a private directory; only this process may connect, once.
struct PrivateSocket {
    let path: String
    private let descriptor: Int32

    /// What one accept attempt produced.
    enum Accepted {
        case client(Int32)
        case refused(RefusedPeer)
        case nothing
    }

    /// Creates `directory` (0700) if missing, checks it is private, and listens on a fresh socket in it.
    static func listen(in directory: String) throws(TunnelError) -> PrivateSocket {
        try ensurePrivateDirectory(directory)
        let name = "tunnel-" + (0..<8).map { _ in hexByte(UInt8.random(in: .min ... .max)) }.joined() + ".sock"
        let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw .runtimeDirectoryUnusable(
                path: directory,
                reason: "the socket path \(path) is longer than the \(capacity - 1) bytes a Unix socket allows; "
                    + "choose a shorter directory")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let kind = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        do {
            let descriptor = try systemCall("socket") { socket(AF_UNIX, kind, 0) }
            do {
                _ = try withUnsafePointer(to: &address) { pointer throws(SystemCallError) in
                    try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic throws(SystemCallError) in
                        try systemCall("bind") { bind(descriptor, generic, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                    }
                }
                try systemCall("chmod") { chmod(path, 0o600) }
                try systemCall("listen") { Glibc.listen(descriptor, 4) }
            } catch {
                Glibc.close(descriptor)
                unlink(path)
                throw error
            }
            return PrivateSocket(path: path, descriptor: descriptor)
        } catch {
            throw .socketFailed(path: path, reason: "\(error)")
        }
    }

    /// The listening descriptor, for poll().
    var fileDescriptor: Int32 { descriptor }

    /// Accepts one waiting connection; a peer that is not this process is closed and reported.
    func accept() -> Accepted {
        // accept4 is a GNU extension the Glibc module does not export; the flags are set just after.
        guard let client = try? systemCall("accept", { Glibc.accept(descriptor, nil, nil) }) else {
            return .nothing
        }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
        // struct ucred: pid_t pid, uid_t uid, gid_t gid.
        var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        let known = getsockopt(client, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0
        if known && credentials.0 == getpid() {
            return .client(client)
        }
        Glibc.close(client)
        return .refused(RefusedPeer(pid: known ? credentials.0 : -1, uid: known ? credentials.1 : UInt32.max))
    }

    /// Stops listening and removes the socket file, so nobody else can connect.
    func close() {
        Glibc.close(descriptor)
        unlink(path)
    }

    private static func ensurePrivateDirectory(_ directory: String) throws(TunnelError) {
        guard directory.hasPrefix("/") else {
            throw .runtimeDirectoryUnusable(path: directory, reason: "it must be an absolute path")
        }
        var status = stat()
        if lstat(directory, &status) != 0 {
            guard errno == ENOENT else {
                throw .runtimeDirectoryUnusable(path: directory, reason: String(cString: strerror(errno)))
            }
            // Missing parents are created like `mkdir -p` (0755), the directory itself private.
            var prefix = ""
            let components = directory.split(separator: "/")
            for (index, component) in components.enumerated() {
                prefix += "/" + component
                let mode: mode_t = index == components.count - 1 ? 0o700 : 0o755
                if mkdir(prefix, mode) != 0 && errno != EEXIST {
                    throw .runtimeDirectoryUnusable(
                        path: directory, reason: "cannot create \(prefix): \(String(cString: strerror(errno)))")
                }
            }
            // mkdir's mode is filtered by the umask; the directory must end up exactly 0700.
            chmod(directory, 0o700)
            guard lstat(directory, &status) == 0 else {
                throw .runtimeDirectoryUnusable(path: directory, reason: String(cString: strerror(errno)))
            }
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw .runtimeDirectoryUnusable(path: directory, reason: "it is not a directory (symbolic links are refused)")
        }
        guard status.st_uid == geteuid() else {
            throw .runtimeDirectoryUnusable(
                path: directory, reason: "it belongs to uid \(status.st_uid), not to this agent (uid \(geteuid()))")
        }
        guard status.st_mode & 0o077 == 0 else {
            let mode = String(status.st_mode & 0o777, radix: 8)
            throw .runtimeDirectoryUnusable(
                path: directory,
                reason: "its mode is 0\(mode), but only its owner may enter it: run chmod 700 \(directory) "
                    + "or choose a directory of its own")
        }
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
