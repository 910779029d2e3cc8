import Foundation
import Glibc
import TestSupport
import WebSocketTunnel

/// Test CA and server certificate (valid for `localhost` only), made once for the whole test run.
let tunnelCertificates: TestTunnelCertificates = {
    do {
        return try TestTunnelCertificates.make(in: try makeTemporaryDirectory())
    } catch {
        fatalError("cannot make test certificates: \(error)")
    }
}()

/// A fresh directory with a short path (Unix socket paths are limited to 107 bytes), removed when the tests end.
func makeTemporaryDirectory() throws -> String {
    try TempDirectory.removedAtExit(prefix: "wst").path
}

/// `Tests/Fixtures/<name>` of this package.
func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// A failure of a test-side socket step.
struct TestSocketError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A Python fixture (WebSocket endpoint or CONNECT proxy) running as a child process.
final class FixtureProcess {
    let port: Int
    let eventsFile: String
    private let process: ChildProcess

    private init(port: Int, eventsFile: String, process: ChildProcess) {
        self.port = port
        self.eventsFile = eventsFile
        self.process = process
    }

    /// Starts `Tests/Fixtures/<script>` with `arguments` and waits until it listens.
    static func start(_ script: String, _ arguments: [String], in directory: String) async throws -> FixtureProcess {
        // Several fixtures may share a directory: each gets its own files.
        let name = "\(script)-\(UInt32.random(in: .min ... .max))"
        let readyFile = directory + "/\(name).ready"
        let eventsFile = directory + "/\(name).events"
        let logFile = directory + "/\(name).log"
        _ = FileManager.default.createFile(atPath: eventsFile, contents: nil)
        // stdin is a pipe: the fixture exits when it closes, so it dies with the test process.
        let process = try ChildProcess(
            executable: TestExecutables.python3,
            arguments: [fixturePath(script), "--ready-file", readyFile, "--events", eventsFile] + arguments,
            stdout: .discard, stderr: .file(logFile), stdinPipe: true)
        // Python with ssl takes seconds to start on a busy machine.
        let ready = await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: readyFile) }
        guard ready, let text = try? String(contentsOfFile: readyFile, encoding: .utf8),
            let port = Int(text.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
        else {
            process.stop()
            let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            throw TestSocketError("\(script) did not start: \(log)")
        }
        return FixtureProcess(port: port, eventsFile: eventsFile, process: process)
    }

    /// The events logged so far, one per line.
    var events: [String] {
        ((try? String(contentsOfFile: eventsFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Waits until an event equal to `line` is logged.
    func waitForEvent(_ line: String, timeout: Duration = .seconds(5)) async -> Bool {
        await eventually(timeout: timeout) { events.contains(line) }
    }

    deinit {
        process.stop()
    }
}

/// Starts the WebSocket endpoint fixture with the test certificates and `options`.
func startEndpoint(_ options: [String] = [], in directory: String) async throws -> FixtureProcess {
    try await FixtureProcess.start(
        "ws_fixture.py",
        ["--cert", tunnelCertificates.serverCertificateFile, "--key", tunnelCertificates.serverKeyFile] + options,
        in: directory)
}

/// An endpoint on the local fixture with a presigned-looking query.
func localEndpoint(
    port: Int, host: String = "localhost", signature: String = "good", caFile: String? = tunnelCertificates.caFile,
    proxy: ProxySettings? = nil
) -> WebSocketEndpoint {
    WebSocketEndpoint(
        host: host, port: port,
        pathAndQuery: "/mqtt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=\(signature)"
            + "&X-Amz-Security-Token=SECRET-SESSION-TOKEN",
        caFile: caFile, proxy: proxy)
}

/// A blocking Unix-socket client, as libmosquitto would connect to the tunnel.
final class UnixClient {
    private let descriptor: Int32

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw TestSocketError("connect to \(path) failed: \(String(cString: strerror(code)))")
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(descriptor) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw TestSocketError("send failed: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    /// Reads exactly `count` bytes (5 s limit per read).
    func receive(exactly count: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < count {
            // Never more than the chunk holds: the kernel may have far more than 64 KiB waiting.
            let received = chunk.withUnsafeMutableBytes {
                recv(descriptor, $0.baseAddress, min(count - bytes.count, $0.count), 0)
            }
            guard received > 0 else {
                throw TestSocketError("received \(bytes.count) of \(count) bytes, then \(received == 0 ? "EOF" : "error \(errno)")")
            }
            bytes.append(contentsOf: chunk[0..<received])
        }
        return bytes
    }

    /// True when the tunnel closed this connection (end of stream) within 5 s.
    func receivesEndOfStream() -> Bool {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, 0) == 0
    }

    func close() { shutdown(descriptor, Int32(SHUT_RDWR)) }
}

/// A real mosquitto broker on a free local port, for the MQTT round trip through the tunnel.
final class TestBroker {
    let port: Int
    private let process: ChildProcess

    init(in directory: String) async throws {
        port = try MQTTTestCommand.freePort()
        let config = directory + "/mosquitto.conf"
        var text = "listener \(port) 127.0.0.1\nallow_anonymous true\npersistence false\n"
        // As root, mosquitto would switch to user mosquitto, which cannot enter the 0700 temp directory.
        if geteuid() == 0 { text += "user root\n" }
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        process = try ChildProcess(
            executable: TestExecutables.mosquitto, arguments: ["-c", config], stdout: .discard, stderr: .discard)
        let port = port
        guard await eventually({ MQTTTestCommand.canConnect(port: port) }) else {
            process.stop()
            throw TestSocketError("mosquitto did not listen on \(port)")
        }
    }

    deinit {
        process.stop()
    }
}
