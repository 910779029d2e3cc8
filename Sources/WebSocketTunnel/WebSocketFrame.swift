/// RFC 6455 frame opcodes.
enum WebSocketOpcode: UInt8 {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    var isControl: Bool { rawValue & 0x8 != 0 }
}

/// RFC 6455 close status codes the tunnel sends.
enum WebSocketCloseCode {
    static let normal: UInt16 = 1000
    static let protocolError: UInt16 = 1002
    static let unsupportedData: UInt16 = 1003
    static let messageTooBig: UInt16 = 1009
}

/// Client-side frame encoding: every frame a client sends is masked with a fresh random key (RFC 6455 §5.3).
enum WebSocketFrameEncoder {
    /// One complete (FIN) frame carrying `payload`.
    static func frame(_ opcode: WebSocketOpcode, payload: ArraySlice<UInt8>) -> [UInt8] {
        var frame: [UInt8] = []
        frame.reserveCapacity(payload.count + 14)
        frame.append(0x80 | opcode.rawValue)
        let length = payload.count
        if length < 126 {
            frame.append(0x80 | UInt8(length))
        } else if length <= 0xFFFF {
            frame.append(0x80 | 126)
            frame.append(UInt8(length >> 8))
            frame.append(UInt8(length & 0xFF))
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((UInt64(length) >> UInt64(shift)) & 0xFF)) }
        }
        var generator = SystemRandomNumberGenerator()
        let key = withUnsafeBytes(of: generator.next() as UInt32) { Array($0) }
        frame.append(contentsOf: key)
        var index = 0
        for byte in payload {
            frame.append(byte ^ key[index & 3])
            index += 1
        }
        return frame
    }

    /// A close frame with `code` and a short reason.
    static func close(code: UInt16?, reason: String = "") -> [UInt8] {
        guard let code else { return frame(.close, payload: []) }
        let payload = [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8.prefix(123))
        return frame(.close, payload: payload[...])
    }
}

/// What the server sent, as the relay acts on it.
package enum InboundWebSocketEvent: Equatable {
    /// Bytes of a binary message (one frame's worth; a message may arrive in several).
    case data([UInt8])
    case ping([UInt8])
    case pong
    case close(code: UInt16?, reason: String)
}

/// Why the server's frames cannot be accepted, with the close code to answer.
package struct WebSocketProtocolViolation: Error, Equatable {
    package let code: UInt16
    package let detail: String
}

/// Turns the server's byte stream into events, enforcing RFC 6455 framing and the message size limit.
package struct WebSocketFrameReader {
    let maxMessageBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var messageInProgress = false
    private var messageBytes = 0

    package init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// Bytes received but not yet parsed.
    var bufferedCount: Int { buffer.count - start }

    package mutating func append(_ bytes: [UInt8]) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next event, or nil when the buffer does not yet hold a whole frame.
    package mutating func next() throws(WebSocketProtocolViolation) -> InboundWebSocketEvent? {
        while true {
            guard let (header, payload) = try nextFrame() else { return nil }
            let (fin, opcode) = header
            switch opcode {
            case .text:
                throw Self.textFrame
            case .binary, .continuation:
                if opcode == .binary && messageInProgress {
                    throw WebSocketProtocolViolation(
                        code: WebSocketCloseCode.protocolError, detail: "a new message began before the last one ended")
                }
                if opcode == .continuation && !messageInProgress {
                    throw WebSocketProtocolViolation(
                        code: WebSocketCloseCode.protocolError, detail: "a continuation frame arrived outside a message")
                }
                messageBytes = (opcode == .binary ? 0 : messageBytes) + payload.count
                try checkMessageSize(messageBytes)
                messageInProgress = !fin
                if payload.isEmpty { continue }
                return .data(payload)
            case .ping:
                return .ping(payload)
            case .pong:
                return .pong
            case .close:
                if payload.isEmpty { return .close(code: nil, reason: "") }
                guard payload.count >= 2 else {
                    throw WebSocketProtocolViolation(
                        code: WebSocketCloseCode.protocolError, detail: "the server's close frame has a 1-byte payload")
                }
                let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
                let reason = HTTPResponseHead.printable(String(decoding: payload[2...], as: UTF8.self))
                return .close(code: code, reason: reason)
            }
        }
    }

    private static let textFrame = WebSocketProtocolViolation(
        code: WebSocketCloseCode.unsupportedData, detail: "the server sent a text frame; MQTT uses binary frames")

    private func checkMessageSize(_ size: Int) throws(WebSocketProtocolViolation) {
        guard size <= maxMessageBytes else {
            throw WebSocketProtocolViolation(
                code: WebSocketCloseCode.messageTooBig,
                detail: "the server sent a message of more than \(maxMessageBytes) bytes")
        }
    }

    private mutating func nextFrame() throws(WebSocketProtocolViolation)
        -> ((fin: Bool, opcode: WebSocketOpcode), [UInt8])?
    {
        let available = buffer.count - start
        guard available >= 2 else { return nil }
        let first = buffer[start]
        let second = buffer[start + 1]
        let fin = first & 0x80 != 0
        guard first & 0x70 == 0 else {
            throw WebSocketProtocolViolation(
                code: WebSocketCloseCode.protocolError, detail: "the server set reserved bits (no extension was agreed)")
        }
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else {
            throw WebSocketProtocolViolation(
                code: WebSocketCloseCode.protocolError, detail: "the server sent unknown opcode \(first & 0x0F)")
        }
        // Refused from the header, before any of its payload is buffered.
        if opcode == .text { throw Self.textFrame }
        guard second & 0x80 == 0 else {
            throw WebSocketProtocolViolation(
                code: WebSocketCloseCode.protocolError, detail: "the server sent a masked frame")
        }
        var headerLength = 2
        var length = UInt64(second & 0x7F)
        if length == 126 {
            guard available >= 4 else { return nil }
            length = UInt64(buffer[start + 2]) << 8 | UInt64(buffer[start + 3])
            headerLength = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            length = 0
            for index in 2..<10 { length = length << 8 | UInt64(buffer[start + index]) }
            headerLength = 10
            guard length >> 63 == 0 else {
                throw WebSocketProtocolViolation(
                    code: WebSocketCloseCode.protocolError, detail: "the server sent a frame length with the top bit set")
            }
        }
        if opcode.isControl {
            guard fin, length <= 125 else {
                throw WebSocketProtocolViolation(
                    code: WebSocketCloseCode.protocolError,
                    detail: "the server sent a fragmented or oversized control frame")
            }
        } else {
            // Refuse a too-large frame from its header, before buffering any of it.
            let soFar = opcode == .continuation ? messageBytes : 0
            try checkMessageSize(length > UInt64(maxMessageBytes) ? maxMessageBytes + 1 : soFar + Int(length))
        }
        guard UInt64(available - headerLength) >= length else { return nil }
        let payloadStart = start + headerLength
        let payload = Array(buffer[payloadStart..<payloadStart + Int(length)])
        start = payloadStart + Int(length)
        return ((fin, opcode), payload)
    }
}
