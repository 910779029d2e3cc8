#if canImport(Glibc)
import Glibc
#endif
import CLinuxShims
import Synchronization

/// Why the metrics listener could not start.
public struct MetricsListenerError: Error, CustomStringConvertible {
    public var description: String
}

/// A minimal HTTP/1.1 responder for Prometheus: `GET /metrics` answers the rendered text, anything else 404.
///
/// One thread serves one connection at a time, each bounded by `clientTimeout` and `maxRequestBytes`, with a
/// short accept backlog: a slow or hostile client delays the next scrape by at most the timeout and never
/// reaches the engine, because `render` only reads a snapshot.
public final class MetricsListener: Sendable {
    public static let clientTimeout: Duration = .seconds(2)
    public static let maxRequestBytes = 8192
    static let backlog: Int32 = 4

    /// The port bound (the one asked for, or the kernel's choice for port 0).
    public let port: Int
    private let fd: Int32
    private let render: @Sendable () -> String
    private let stopped = Atomic<Bool>(false)

    /// Binds `host:port`; throws naming the address and the system's reason.
    public init(host: String, port: Int, render: @escaping @Sendable () -> String) throws(MetricsListenerError) {
        self.render = render
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let found = getaddrinfo(host, String(port), &hints, &list)
        guard found == 0, let first = list else {
            throw MetricsListenerError(description: "metrics.listen: cannot resolve \(host): \(String(cString: gai_strerror(found)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        var bound: Int32 = -1
        while let entry = candidate, bound < 0 {
            candidate = entry.pointee.ai_next
            let socketFD = socket(entry.pointee.ai_family, entry.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard socketFD >= 0 else { continue }
            var one: Int32 = 1
            setsockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if bind(socketFD, entry.pointee.ai_addr, entry.pointee.ai_addrlen) == 0, listen(socketFD, Self.backlog) == 0 {
                bound = socketFD
            } else {
                lastError = String(cString: strerror(errno))
                close(socketFD)
            }
        }
        guard bound >= 0 else { throw MetricsListenerError(description: "metrics.listen: cannot listen on \(host):\(port): \(lastError)") }
        fd = bound
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(bound, $0, &length) }
        }
        self.port = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    /// Serves until `stop()`; closes the socket on the way out. Blocks: run it on its own thread.
    public func run() {
        defer { close(fd) }
        while !stopped.load(ordering: .relaxed) {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 250) > 0 else { continue }
            let client = gateway_accept_cloexec(fd)
            guard client >= 0 else { continue }
            serve(client)
            close(client)
        }
    }

    /// Makes `run` return within a quarter second.
    public func stop() { stopped.store(true, ordering: .relaxed) }

    private func serve(_ client: Int32) {
        let deadline = ContinuousClock.now + Self.clientTimeout
        let head: String
        switch readHead(client, deadline: deadline) {
        case .head(let text): head = text
        // A client that sent nothing in time gets no answer: it is closed.
        case .late: return
        case .invalid: return respond(client, status: "400 Bad Request", body: "bad request\n", deadline: deadline)
        }
        let requestLine = head.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else {
            return respond(client, status: "400 Bad Request", body: "bad request\n", deadline: deadline)
        }
        let path = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" else {
            return respond(client, status: "404 Not Found", body: "only /metrics is served here\n", deadline: deadline)
        }
        guard parts[0] == "GET" else {
            return respond(client, status: "405 Method Not Allowed", body: "only GET\n", deadline: deadline, extra: "Allow: GET\r\n")
        }
        respond(client, status: "200 OK", body: render(), deadline: deadline, contentType: PrometheusText.contentType)
    }

    private enum Head {
        case head(String)
        /// Nothing complete by the deadline.
        case late
        /// Too long, or the client closed before its blank line.
        case invalid
    }

    /// The request up to its blank line.
    private func readHead(_ client: Int32, deadline: ContinuousClock.Instant) -> Head {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while bytes.count <= Self.maxRequestBytes {
            guard wait(client, for: POLLIN, until: deadline) else { return .late }
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return .invalid }
            bytes += buffer[..<count]
            let text = String(decoding: bytes, as: UTF8.self)
            if text.contains("\r\n\r\n") { return .head(text) }
        }
        return .invalid
    }

    private func respond(
        _ client: Int32, status: String, body: String, deadline: ContinuousClock.Instant,
        contentType: String = "text/plain; charset=utf-8", extra: String = ""
    ) {
        let payload = Array(body.utf8)
        let head =
            "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(payload.count)\r\n\(extra)Connection: close\r\n\r\n"
        var bytes = Array(head.utf8) + payload
        var sent = 0
        while sent < bytes.count, wait(client, for: POLLOUT, until: deadline) {
            let count = bytes.withUnsafeMutableBytes { send(client, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }

    private func wait(_ client: Int32, for event: Int32, until deadline: ContinuousClock.Instant) -> Bool {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { return false }
        var entry = pollfd(fd: client, events: Int16(event), revents: 0)
        let ms = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
        return poll(&entry, 1, ms) > 0 && entry.revents & Int16(event) != 0
    }
}
