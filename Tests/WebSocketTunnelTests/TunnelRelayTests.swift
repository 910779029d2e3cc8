import Foundation
import Testing
import WebSocketTunnel

/// Opens a tunnel to a fresh echo endpoint started with `options`.
private func echoTunnel(_ options: [String] = [], timeout: Duration = .seconds(5)) async throws
    -> (FixtureProcess, WebSocketTunnel, String)
{
    let directory = try makeTemporaryDirectory()
    let endpoint = try await startEndpoint(options, in: directory)
    let tunnel = try await WebSocketTunnel.open(
        endpoint: localEndpoint(port: endpoint.port), runtimeDirectory: directory + "/run", connectTimeout: timeout)
    return (endpoint, tunnel, directory)
}

@Suite("Relaying between the Unix socket and the WebSocket", .serialized)
struct TunnelRelayTests {
    @Test("bytes written to the socket come back from the server, small and large")
    func echoesBothWays() async throws {
        let (endpoint, tunnel, _) = try await echoTunnel()
        let client = try UnixClient(path: tunnel.socketPath)
        let small: [UInt8] = [0x10, 0x02, 0xAB, 0xCD]
        try client.send(small)
        #expect(try client.receive(exactly: small.count) == small)
        // Larger than one 16 KiB read: several frames go out, the server echoes each message.
        let large = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try client.send(large)
        #expect(try client.receive(exactly: large.count) == large)
        #expect(endpoint.events.filter { $0.hasPrefix("MESSAGE") }.count >= 3)
        #expect(!endpoint.events.contains("UNMASKED"))
        tunnel.close()
        #expect(await tunnel.closeReason == .closedLocally)
    }

    @Test("fragmented server messages are joined into the byte stream, and pings are answered")
    func fragmentsAndPings() async throws {
        let (endpoint, tunnel, _) = try await echoTunnel(["--fragment", "7", "--ping"])
        let client = try UnixClient(path: tunnel.socketPath)
        let payload = Array("fragmented across continuation frames".utf8)
        try client.send(payload)
        #expect(try client.receive(exactly: payload.count) == payload)
        try client.send([1, 2, 3])
        #expect(try client.receive(exactly: 3) == [1, 2, 3])
        #expect(await endpoint.waitForEvent("PONG ping-1"))
        #expect(await endpoint.waitForEvent("PONG ping-2"))
        tunnel.close()
        _ = await tunnel.closeReason
    }

    @Test("a close frame from the server closes the tunnel and the client's socket, after delivering data")
    func serverClose() async throws {
        let (endpoint, tunnel, _) = try await echoTunnel(["--close-after", "1"])
        let client = try UnixClient(path: tunnel.socketPath)
        try client.send([42])
        #expect(try client.receive(exactly: 1) == [42])
        #expect(await tunnel.closeReason == .serverClosed(code: 1000, reason: "bye"))
        #expect(client.receivesEndOfStream())
        // The tunnel answered the server's close with its own.
        #expect(await endpoint.waitForEvent("CLOSE 1000"))
        #expect(tunnel.isClosed)
    }

    @Test("the client disconnecting sends a close frame to the server")
    func clientDisconnect() async throws {
        let (endpoint, tunnel, _) = try await echoTunnel()
        let client = try UnixClient(path: tunnel.socketPath)
        try client.send([0xE0, 0x00])
        #expect(try client.receive(exactly: 2) == [0xE0, 0x00])
        client.close()
        #expect(await tunnel.closeReason == .clientDisconnected)
        #expect(await endpoint.waitForEvent("CLOSE 1000"))
    }

    @Test("close() is idempotent, runs the close handshake and ends the client's connection")
    func localClose() async throws {
        let (endpoint, tunnel, _) = try await echoTunnel()
        let client = try UnixClient(path: tunnel.socketPath)
        try client.send([1])
        _ = try client.receive(exactly: 1)
        tunnel.close()
        tunnel.close()
        #expect(await tunnel.closeReason == .closedLocally)
        tunnel.close()
        #expect(await tunnel.closeReason == .closedLocally)
        #expect(client.receivesEndOfStream())
        #expect(await endpoint.waitForEvent("CLOSE 1000"))
    }

    @Test("a server message over the size limit closes the tunnel with 1009")
    func oversizedMessage() async throws {
        let (endpoint, tunnel, _) = try await echoTunnel(["--reply-oversized"])
        let client = try UnixClient(path: tunnel.socketPath)
        try client.send([1])
        guard case .protocolViolation(1009, _) = await tunnel.closeReason else {
            Issue.record("unexpected \(await tunnel.closeReason)")
            return
        }
        #expect(await endpoint.waitForEvent("CLOSE 1009"))
        #expect(client.receivesEndOfStream())
    }

    @Test("a text frame from the server closes the tunnel with 1003")
    func textFrame() async throws {
        let (endpoint, tunnel, _) = try await echoTunnel(["--reply-text"])
        let client = try UnixClient(path: tunnel.socketPath)
        try client.send([1])
        guard case .protocolViolation(1003, _) = await tunnel.closeReason else {
            Issue.record("unexpected \(await tunnel.closeReason)")
            return
        }
        #expect(await endpoint.waitForEvent("CLOSE 1003"))
    }

    @Test("a connection dropped without a close frame is reported as lost")
    func droppedConnection() async throws {
        let (endpoint, tunnel, _) = try await echoTunnel(["--drop-after", "1"])
        let client = try UnixClient(path: tunnel.socketPath)
        try client.send([5])
        #expect(try client.receive(exactly: 1) == [5])
        guard case .connectionLost = await tunnel.closeReason else {
            Issue.record("unexpected \(await tunnel.closeReason)")
            return
        }
        #expect(client.receivesEndOfStream())
        #expect(endpoint.events.contains("MESSAGE 1"))
    }

    @Test("a tunnel nobody connects to closes itself after the connect timeout")
    func clientNeverConnects() async throws {
        let (endpoint, tunnel, _) = try await echoTunnel(timeout: .milliseconds(300))
        #expect(await tunnel.closeReason == .clientNeverConnected)
        #expect(!FileManager.default.fileExists(atPath: tunnel.socketPath))
        #expect(await endpoint.waitForEvent("CLOSE 1000"))
    }
}
