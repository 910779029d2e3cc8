import Testing

@testable import WebSocketTunnel

/// A server frame (never masked) with `opcode` and `payload`.
private func serverFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
    var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
    if payload.count < 126 {
        frame.append(UInt8(payload.count))
    } else {
        frame += [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    }
    return frame + payload
}

/// Reads every event the reader can produce from `bytes`.
private func events(_ bytes: [UInt8], max: Int = 1 << 20) throws(WebSocketProtocolViolation)
    -> [InboundWebSocketEvent]
{
    var reader = WebSocketFrameReader(maxMessageBytes: max)
    reader.append(bytes)
    var result: [InboundWebSocketEvent] = []
    while let event = try reader.next() { result.append(event) }
    return result
}

/// The close code the reader answers `bytes` with, or nil when it accepts them.
private func violationCode(_ bytes: [UInt8], max: Int = 1 << 20) -> UInt16? {
    do {
        _ = try events(bytes, max: max)
        return nil
    } catch {
        return error.code
    }
}

@Suite("WebSocket frames")
struct WebSocketFrameTests {
    @Test("client frames are masked and unmask to the payload")
    func clientFramesAreMasked() {
        let payload = Array(0..<300).map { UInt8($0 & 0xFF) }
        let frame = WebSocketFrameEncoder.frame(.binary, payload: payload[...])
        #expect(frame[0] == 0x82)
        #expect(frame[1] == 0x80 | 126)
        #expect(Int(frame[2]) << 8 | Int(frame[3]) == 300)
        let key = Array(frame[4..<8])
        let unmasked = frame[8...].enumerated().map { $0.element ^ key[$0.offset & 3] }
        #expect(unmasked == payload)
    }

    @Test("a message split into continuation frames arrives as its fragments, in order")
    func fragmentedMessage() throws {
        let bytes =
            serverFrame(0x2, [1, 2], fin: false) + serverFrame(0x9, [7]) + serverFrame(0x0, [3], fin: false)
            + serverFrame(0x0, [4, 5])
        #expect(try events(bytes) == [.data([1, 2]), .ping([7]), .data([3]), .data([4, 5])])
    }

    @Test("a frame cut anywhere waits for the rest")
    func partialFrames() throws {
        let bytes = serverFrame(0x2, Array(repeating: 9, count: 200)) + serverFrame(0xA, [])
        var reader = WebSocketFrameReader(maxMessageBytes: 1 << 20)
        var seen: [InboundWebSocketEvent] = []
        for byte in bytes {
            reader.append([byte])
            while let event = try reader.next() { seen.append(event) }
        }
        #expect(seen == [.data(Array(repeating: 9, count: 200)), .pong])
    }

    @Test("a close frame yields its code and reason")
    func closeFrame() throws {
        #expect(try events(serverFrame(0x8, [0x03, 0xE8] + Array("bye".utf8))) == [.close(code: 1000, reason: "bye")])
        #expect(try events(serverFrame(0x8, [])) == [.close(code: nil, reason: "")])
    }

    @Test("a text frame is refused with 1003")
    func textFrameRefused() {
        #expect(violationCode(serverFrame(0x1, Array("hi".utf8))) == 1003)
        // Refused from the header alone, before a large text payload is buffered.
        #expect(violationCode([0x81, 126, 0xFF, 0xFF]) == 1003)
    }

    @Test("a frame announcing more than the limit is refused with 1009 before its payload arrives")
    func oversizedFrameRefused() {
        // Header only: 64-bit length of 2 MiB, no payload yet.
        let header: [UInt8] = [0x82, 127, 0, 0, 0, 0, 0, 0x20, 0, 0]
        #expect(violationCode(header) == 1009)
    }

    @Test("fragments adding up to more than the limit are refused with 1009")
    func oversizedMessageRefused() {
        let bytes = serverFrame(0x2, Array(repeating: 0, count: 100), fin: false) + serverFrame(0x0, Array(repeating: 0, count: 100))
        #expect(violationCode(bytes, max: 150) == 1009)
        #expect(violationCode(bytes, max: 200) == nil)
    }

    @Test("masked server frames, reserved bits, unknown opcodes and stray continuations are protocol errors")
    func protocolErrors() {
        let cases: [[UInt8]] = [
            [0x82, 0x81, 1, 2, 3, 4, 5],  // masked
            [0xC2, 0x00],  // RSV1
            [0x83, 0x00],  // opcode 3
            serverFrame(0x0, [1]),  // continuation without a message
            serverFrame(0x2, [1], fin: false) + serverFrame(0x2, [2]),  // new message inside a message
            serverFrame(0x9, [1], fin: false),  // fragmented control frame
            [0x88, 0x01, 0x03],  // close with 1-byte payload
        ]
        for bytes in cases {
            #expect(violationCode(bytes) == 1002, "bytes \(bytes)")
        }
    }

    @Test("the accept key matches RFC 6455's example")
    func acceptKey() {
        #expect(UpgradeHandshake.expectedAccept(for: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}
