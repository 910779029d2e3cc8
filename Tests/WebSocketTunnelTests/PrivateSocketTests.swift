import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport
import WebSocketTunnel

@Suite("The private Unix socket", .serialized)
struct PrivateSocketTests {
    @Test("the runtime directory is created 0700 and the socket file is removed after close")
    func directoryAndCleanup() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint([], in: directory)
        let runtime = directory + "/state/tunnel"
        let tunnel = try await WebSocketTunnel.open(
            endpoint: localEndpoint(port: endpoint.port), runtimeDirectory: runtime, connectTimeout: .seconds(5))
        var status = stat()
        #expect(stat(runtime, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o700)
        #expect(FileManager.default.fileExists(atPath: tunnel.socketPath))
        tunnel.close()
        _ = await tunnel.closeReason
        #expect(!FileManager.default.fileExists(atPath: tunnel.socketPath))
        #expect(try FileManager.default.contentsOfDirectory(atPath: runtime).isEmpty)
    }

    @Test("a runtime directory others may enter is refused before any network traffic")
    func openDirectoryRefused() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint([], in: directory)
        let runtime = directory + "/shared"
        #expect(mkdir(runtime, 0o755) == 0)
        chmod(runtime, 0o755)
        do {
            _ = try await WebSocketTunnel.open(
                endpoint: localEndpoint(port: endpoint.port), runtimeDirectory: runtime, connectTimeout: .seconds(5))
            Issue.record("a 0755 directory was accepted")
        } catch {
            guard case .runtimeDirectoryUnusable(runtime, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(error.description.contains("0755"))
            #expect(error.isPermanent)
        }
        #expect(endpoint.events.isEmpty)
    }

    @Test("once the client is connected, a second connection is refused")
    func secondConnectionRefused() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint([], in: directory)
        let tunnel = try await WebSocketTunnel.open(
            endpoint: localEndpoint(port: endpoint.port), runtimeDirectory: directory + "/run",
            connectTimeout: .seconds(5))
        let first = try UnixClient(path: tunnel.socketPath)
        try first.send([7])
        #expect(try first.receive(exactly: 1) == [7])
        #expect(throws: TestSocketError.self) { try UnixClient(path: tunnel.socketPath) }
        // The first connection is unaffected.
        try first.send([8])
        #expect(try first.receive(exactly: 1) == [8])
        tunnel.close()
        _ = await tunnel.closeReason
    }

    @Test("another process connecting is turned away and reported; this process can still connect")
    func foreignPeerRefused() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint([], in: directory)
        let refused = Mutex<[RefusedPeer]>([])
        let tunnel = try await WebSocketTunnel.open(
            endpoint: localEndpoint(port: endpoint.port), runtimeDirectory: directory + "/run",
            connectTimeout: .seconds(5), onRefusedPeer: { peer in refused.withLock { $0.append(peer) } })
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
            print("EOF" if s.recv(1) == b"" else "DATA")
            """
        let intruder = try ChildProcess(
            executable: TestExecutables.python3, arguments: ["-c", script, tunnel.socketPath], stderr: .capture)
        // Waiting without blocking a thread: the tunnel that must turn the intruder away may need one.
        #expect(await eventually(timeout: .seconds(10)) { !intruder.isRunning })
        let answer = try intruder.readAllLines(timeout: .seconds(1)).joined(separator: "\n") + "\n"
        #expect(answer == "EOF\n")
        #expect(await eventually { refused.withLock { $0.map(\.pid) } == [intruder.pid] })
        let client = try UnixClient(path: tunnel.socketPath)
        try client.send([9])
        #expect(try client.receive(exactly: 1) == [9])
        tunnel.close()
        _ = await tunnel.closeReason
    }
}
