import Testing
import WebSocketTunnel

/// MQTT 3.1.1 packets written by hand: the MQTT client library is another module's business.
private enum MQTTPacket {
    static func string(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
    }

    static func packet(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        precondition(body.count < 128)
        return [type, UInt8(body.count)] + body
    }

    static let connect = packet(0x10, string("MQTT") + [0x04, 0x02, 0x00, 0x3C] + string("tunnel-test"))
    static let connack: [UInt8] = [0x20, 0x02, 0x00, 0x00]
    static let subscribe = packet(0x82, [0x00, 0x01] + string("tunnel/test") + [0x00])
    static let suback: [UInt8] = [0x90, 0x03, 0x00, 0x01, 0x00]
    static let publish = packet(0x30, string("tunnel/test") + Array("hello through the tunnel".utf8))
    static let disconnect: [UInt8] = [0xE0, 0x00]
}

@Suite("MQTT through the tunnel to a real mosquitto", .serialized)
struct MosquittoOverTunnelTests {
    @Test("CONNECT, SUBSCRIBE and a PUBLISH round trip reach mosquitto and come back")
    func roundTrip() async throws {
        let directory = try makeTemporaryDirectory()
        let broker = try await TestBroker(in: directory)
        let endpoint = try await startEndpoint(["--target", "127.0.0.1:\(broker.port)", "--fragment", "5"], in: directory)
        let tunnel = try await WebSocketTunnel.open(
            endpoint: localEndpoint(port: endpoint.port), runtimeDirectory: directory + "/run",
            connectTimeout: .seconds(5))
        let client = try UnixClient(path: tunnel.socketPath)
        try client.send(MQTTPacket.connect)
        #expect(try client.receive(exactly: 4) == MQTTPacket.connack)
        try client.send(MQTTPacket.subscribe)
        #expect(try client.receive(exactly: 5) == MQTTPacket.suback)
        try client.send(MQTTPacket.publish)
        #expect(try client.receive(exactly: MQTTPacket.publish.count) == MQTTPacket.publish)
        try client.send(MQTTPacket.disconnect)
        client.close()
        // Whichever comes first: our close, or the fixture's once mosquitto has dropped the connection.
        let reason = await tunnel.closeReason
        #expect(reason == .clientDisconnected || reason == .serverClosed(code: 1000, reason: "broker closed"))
    }
}
