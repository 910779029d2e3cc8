import CryptoSupport
import FoundationEssentials

/// The RFC 6455 opening handshake: an HTTP/1.1 `GET` with `Upgrade: websocket`, answered by `101`.
enum UpgradeHandshake {
    /// RFC 6455 §1.3: appended to the key before hashing.
    private static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    /// The only sub-protocol the tunnel speaks.
    static let subprotocol = "mqtt"

    /// Runs the handshake over `stream`; returns bytes that arrived after the response head (early frames).
    static func perform(over stream: TLSClientStream, endpoint: WebSocketEndpoint, deadline: Deadline)
        throws(TunnelError) -> [UInt8]
    {
        let key = Data((0..<16).map { _ in UInt8.random(in: .min ... .max) }).base64EncodedString()
        let request =
            "GET \(endpoint.pathAndQuery) HTTP/1.1\r\n"
            + "Host: \(endpoint.hostHeader)\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\n"
            + "Sec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Protocol: \(subprotocol)\r\n"
            + "User-Agent: gateway-agent\r\n"
            + "\r\n"
        let name = endpoint.description
        let (head, early) = try exchange(
            Array(request.utf8), over: stream, endpoint: name, deadline: deadline, stage: "WebSocket upgrade")
        try check(head, key: key, endpoint: name)
        return early
    }

    /// Sends `request` and reads the answer's head; returns it and the bytes that came after it.
    static func exchange(
        _ request: [UInt8], over stream: TLSClientStream, endpoint name: String, deadline: Deadline, stage: String
    ) throws(TunnelError) -> (HTTPResponseHead, [UInt8]) {
        do {
            try stream.write(request, timeout: deadline.remaining)
            var received: [UInt8] = []
            while true {
                if let end = HTTPResponseHead.endIndex(in: received) {
                    guard let head = HTTPResponseHead(received[..<end]) else {
                        throw TunnelError.handshakeInvalid(endpoint: name, reason: "the answer is not HTTP/1.1")
                    }
                    return (head, Array(received[end...]))
                }
                guard received.count < HTTPResponseHead.maxBytes else {
                    throw TunnelError.handshakeInvalid(endpoint: name, reason: "the response head is too long")
                }
                guard deadline.remaining > .zero else {
                    throw TunnelError.timedOut(stage: stage, target: name)
                }
                try stream.read(into: &received, maxCount: 4096, timeout: deadline.remaining)
            }
        } catch let failure as TunnelError {
            throw failure
        } catch let failure as TLSError {
            if case .timedOut = failure { throw .timedOut(stage: stage, target: name) }
            throw .tls(failure)
        } catch {
            throw .handshakeInvalid(endpoint: name, reason: "\(error)")
        }
    }

    /// `Sec-WebSocket-Accept` the server must send for `key`.
    static func expectedAccept(for key: String) -> String {
        Data(TLSClientStream.sha1(Array((key + acceptGUID).utf8))).base64EncodedString()
    }

    private static func check(_ head: HTTPResponseHead, key: String, endpoint: String) throws(TunnelError) {
        switch head.status {
        case 101:
            break
        case 401, 403:
            throw .handshakeForbidden(endpoint: endpoint, status: head.status, serverDate: head.value("date"))
        default:
            throw .handshakeRejected(endpoint: endpoint, status: head.status, reason: head.reason)
        }
        guard head.value("upgrade")?.lowercased() == "websocket" else {
            throw .handshakeInvalid(endpoint: endpoint, reason: "the 101 answer lacks \"Upgrade: websocket\"")
        }
        let connectionTokens = head.values("connection").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingWhitespace().lowercased() }
        guard connectionTokens.contains("upgrade") else {
            throw .handshakeInvalid(endpoint: endpoint, reason: "the 101 answer lacks \"Connection: Upgrade\"")
        }
        guard head.value("sec-websocket-accept") == expectedAccept(for: key) else {
            throw .handshakeInvalid(endpoint: endpoint, reason: "Sec-WebSocket-Accept does not match the key sent")
        }
        guard head.values("sec-websocket-protocol") == [subprotocol] else {
            throw .handshakeInvalid(endpoint: endpoint, reason: "the server did not accept sub-protocol \"mqtt\"")
        }
        guard head.values("sec-websocket-extensions").isEmpty else {
            throw .handshakeInvalid(endpoint: endpoint, reason: "the server chose an extension that was not offered")
        }
    }
}
