import Glibc

/// Plain TCP steps before TLS: connecting with a time limit, and the text exchange with a proxy.
enum TCPConnection {
    /// Connects to `host:port`, trying each resolved address until one answers, within `deadline`.
    /// Returns a non-blocking socket the caller owns.
    static func connect(host: String, port: Int, deadline: Deadline, target: String) throws(TunnelError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let list else {
            throw .connectFailed(
                target: target,
                reason: "cannot resolve \(host): \(String(cString: gai_strerror(resolved))); check the host name and DNS")
        }
        defer { freeaddrinfo(list) }
        var lastFailure = "no address found for \(host)"
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let address = entry?.pointee {
            entry = address.ai_next
            do {
                guard let descriptor = try connect(to: address, deadline: deadline) else { break }
                return descriptor
            } catch {
                lastFailure = error.description
            }
        }
        if deadline.hasPassed { throw .timedOut(stage: "TCP connect", target: target) }
        throw .connectFailed(target: target, reason: lastFailure)
    }

    /// A connected socket, or nil when the deadline passed first.
    private static func connect(to address: addrinfo, deadline: Deadline) throws(SystemCallError) -> Int32? {
        let kind = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let descriptor = try systemCall("socket") { socket(address.ai_family, kind, address.ai_protocol) }
        do throws(SystemCallError) {
            if Glibc.connect(descriptor, address.ai_addr, address.ai_addrlen) != 0 {
                guard errno == EINPROGRESS || errno == EINTR else { throw SystemCallError(call: "connect", code: errno) }
                guard try waitUntilReady(descriptor, events: POLLOUT, deadline: deadline) else {
                    Glibc.close(descriptor)
                    return nil
                }
                var pending: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                try systemCall("getsockopt(SO_ERROR)") {
                    getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &pending, &length)
                }
                if pending != 0 { throw SystemCallError(call: "connect", code: pending) }
            }
            // MQTT packets are small and latency matters more than segment count.
            var on: Int32 = 1
            _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            return descriptor
        } catch {
            Glibc.close(descriptor)
            throw error
        }
    }

    /// Sends all of `bytes` on a non-blocking socket within `deadline`.
    static func send(_ bytes: [UInt8], on descriptor: Int32, deadline: Deadline) throws(SystemCallError) -> Bool {
        var offset = 0
        while offset < bytes.count {
            do {
                let sent = try systemCall("send") {
                    bytes.withUnsafeBytes {
                        Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
                    }
                }
                offset += sent
            } catch let failure where failure.wouldBlock {
                guard try waitUntilReady(descriptor, events: POLLOUT, deadline: deadline) else { return false }
            }
        }
        return true
    }

    /// Appends what arrives on a non-blocking socket to `buffer`; returns the byte count (0 at end of stream),
    /// or nil when nothing arrived before `deadline`.
    static func receive(into buffer: inout [UInt8], from descriptor: Int32, deadline: Deadline) throws(SystemCallError)
        -> Int?
    {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            do {
                let count = try systemCall("recv") {
                    chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                }
                buffer.append(contentsOf: chunk[0..<count])
                return count
            } catch let failure where failure.wouldBlock {
                guard try waitUntilReady(descriptor, events: POLLIN, deadline: deadline) else { return nil }
            }
        }
    }
}
