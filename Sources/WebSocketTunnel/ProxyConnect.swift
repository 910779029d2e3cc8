/// The HTTP `CONNECT` exchange that turns a TCP connection to a proxy into a byte pipe to the endpoint.
enum ProxyConnect {
    /// Asks `proxy` (already connected on `descriptor`) for a tunnel to the endpoint; returns when it agreed.
    static func open(
        through proxy: ProxySettings, on descriptor: Int32, to endpoint: WebSocketEndpoint, deadline: Deadline
    ) throws(TunnelError) {
        let proxyName = proxy.description
        var request = "CONNECT \(endpoint.authority) HTTP/1.1\r\nHost: \(endpoint.authority)\r\n"
        if let credentials = proxy.credentials {
            request += "Proxy-Authorization: \(credentials.basicAuthorization)\r\n"
        }
        request += "\r\n"
        do {
            guard try TCPConnection.send(Array(request.utf8), on: descriptor, deadline: deadline) else {
                throw TunnelError.timedOut(stage: "CONNECT through \(proxyName)", target: endpoint.authority)
            }
            var received: [UInt8] = []
            while true {
                if let end = HTTPResponseHead.endIndex(in: received) {
                    guard let head = HTTPResponseHead(received[..<end]) else {
                        throw TunnelError.connectFailed(target: proxyName, reason: "the proxy's answer is not HTTP")
                    }
                    try check(head, proxy: proxy, endpoint: endpoint)
                    // The server speaks only after our TLS ClientHello, so nothing may follow the proxy's head.
                    guard end == received.count else {
                        throw TunnelError.connectFailed(
                            target: proxyName, reason: "the proxy sent data before the TLS handshake")
                    }
                    return
                }
                guard received.count < HTTPResponseHead.maxBytes else {
                    throw TunnelError.connectFailed(target: proxyName, reason: "the proxy's answer is too long")
                }
                guard let count = try TCPConnection.receive(into: &received, from: descriptor, deadline: deadline)
                else {
                    throw TunnelError.timedOut(stage: "CONNECT through \(proxyName)", target: endpoint.authority)
                }
                if count == 0 {
                    throw TunnelError.connectFailed(
                        target: proxyName, reason: "the proxy closed the connection before answering CONNECT")
                }
            }
        } catch let failure as SystemCallError {
            throw .connectFailed(target: proxyName, reason: failure.description)
        } catch let failure as TunnelError {
            throw failure
        } catch {
            throw .connectFailed(target: proxyName, reason: "\(error)")
        }
    }

    private static func check(_ head: HTTPResponseHead, proxy: ProxySettings, endpoint: WebSocketEndpoint)
        throws(TunnelError)
    {
        switch head.status {
        case 200..<300:
            return
        case 407:
            throw .proxyAuthenticationRequired(proxy: proxy.description, credentialsGiven: proxy.credentials != nil)
        default:
            throw .proxyRefused(
                proxy: proxy.description, target: endpoint.authority, status: head.status, reason: head.reason)
        }
    }
}
