import Foundation
import TestSupport
import Testing

@Suite("The test broker fixture", .blockingWaits)
struct TestBrokerTests {
    @Test("the WebSocket listener answers an upgrade request for the mqtt sub-protocol")
    func webSocketListenerUpgrades() throws {
        let broker = try TestBroker()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(broker.webSocketPort).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let request = """
            GET /mqtt HTTP/1.1\r
            Host: 127.0.0.1:\(broker.webSocketPort)\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
            Sec-WebSocket-Version: 13\r
            Sec-WebSocket-Protocol: mqtt\r
            \r

            """
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = recv(fd, &buffer, buffer.count, 0)
        let response = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 101"))
        #expect(response.lowercased().contains("sec-websocket-protocol: mqtt"))
    }

    @Test("restart keeps the ports and the broker accepts connections again")
    func restartKeepsPorts() throws {
        let broker = try TestBroker()
        let before = (broker.certificatePort, broker.passwordPort, broker.webSocketPort)
        try broker.restart()
        #expect(broker.isRunning)
        #expect((broker.certificatePort, broker.passwordPort, broker.webSocketPort) == before)
        broker.kill()
        #expect(!broker.isRunning)
    }
}
