import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// The control socket: permissions, limits, malformed input, many clients, clients that go away.
@Suite("Control socket", .blockingWaits)
struct ControlSocketTests {
    /// Runs the CLI as `nobody` (uid/gid 65534, no other groups) against `socket`.
    static func runAsNobody(_ arguments: [String], socket: String, stdin: String? = nil) throws -> CLIResult {
        let binary = try builtExecutable(named: "gateway-agent")
        let child = try ChildProcess(
            executable: "/usr/bin/setpriv",
            arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", binary] + arguments + ["--socket", socket],
            stdout: .capture, stderr: .capture, stdinPipe: stdin != nil)
        if let stdin {
            try child.writeToStdin(stdin)
            child.closeStdin()
        }
        let out = try child.readAllLines()
        var err: [String] = []
        while let line = try child.readErrorLine() { err.append(line) }
        guard case .exited(let code) = child.wait() else { throw ChildProcessError("killed") }
        return CLIResult(status: code, stdout: out.joined(separator: "\n"), stderr: err.joined(separator: "\n"))
    }

    @Test("the socket is 0660; outsiders are refused (exit 5), readers may only read, the control group may write")
    func permissions() async throws {
        for (groups, expectRead, expectWrite) in [("", false, false), ("readers_group = \"nogroup\"", true, false), ("control_group = \"nogroup\"", true, true)] {
            let cloud = try CloudHarness(agent: groups)
            var info = stat()
            #expect(stat(cloud.agent.socketPath, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o660, "mode \(String(info.st_mode & 0o777, radix: 8))")
            guard getuid() == 0 else { continue }  // a second uid needs root; the decision itself is unit-tested
            chmod(cloud.agent.directory.path, 0o755)
            let status = try Self.runAsNobody(["status"], socket: cloud.agent.socketPath)
            if expectRead {
                #expect(status.status == 0, "\(groups): \(status)")
            } else {
                #expect(status.status == 5, "\(groups): \(status)")
                #expect(status.stderr.contains("permission denied"))
            }
            let create = try Self.runAsNobody(
                ["identity", "create", "--id", CloudHarness.id(1), "--public-key", "-"], socket: cloud.agent.socketPath,
                stdin: CloudHarness.key)
            if expectWrite {
                #expect(create.status == 0, "\(groups): \(create)")
            } else {
                #expect(create.status == (expectRead ? 2 : 5), "\(groups): \(create)")
            }
            if expectRead { #expect(cloud.agent.log().contains("uid=65534"), "the peer is logged") }
        }
    }

    @Test("malformed, unknown and oversized requests get error responses and change nothing")
    func badRequests() throws {
        let cloud = try CloudHarness()
        let socket = try RawUnixSocket(path: cloud.agent.socketPath)
        socket.send("this is not json\n")
        #expect(socket.readLine()?.contains("\"code\":\"malformed\"") == true)
        socket.send("{\"v\":1,\"id\":\"a\",\"verb\":\"explode\",\"args\":{}}\n")
        #expect(socket.readLine()?.contains("unknown verb") == true)
        socket.send("{\"v\":2,\"id\":\"b\",\"verb\":\"status\",\"args\":{}}\n")
        #expect(socket.readLine()?.contains("unsupported-version") == true)
        socket.send("{\"v\":1,\"id\":\"c\",\"verb\":\"create\",\"args\":{\"id\":42}}\n")
        #expect(socket.readLine()?.contains("\"id\":\"c\"") == true)
        socket.send("{\"v\":1,\"id\":\"d\",\"verb\":\"create\",\"args\":{\"id\":\"\(CloudHarness.id(1))\",\"publicKey\":\"nope\"}}\n")
        #expect(socket.readLine()?.contains("invalid-input") == true)
        // The same connection still works after errors.
        socket.send("{\"v\":1,\"id\":\"e\",\"verb\":\"status\",\"args\":{}}\n")
        #expect(socket.readLine()?.contains("\"ok\":true") == true)

        let big = try RawUnixSocket(path: cloud.agent.socketPath)
        big.send(Array(repeating: UInt8(ascii: "x"), count: maxControlLineBytes + 10) + [UInt8(ascii: "\n")])
        #expect(big.readLine()?.contains("too-large") == true)
        #expect(big.readLine() == nil, "the connection is closed")

        let status = try cloud.status()
        #expect(status.queued == 0 && status.inFlight == 0 && status.failed == 0)
        #expect(try cloud.responder.state().records.isEmpty)
    }

    @Test("50 concurrent clients each create 20 identities and wait: all 1,000 acked, none lost")
    func concurrentClients() async throws {
        // 50 clients of one uid at once: more than the default agent.control_max_requests_per_client.
        let cloud = try CloudHarness(agent: "control_max_requests_per_client = 64")
        let failures = Mutex_([String]())
        let socketPath = cloud.agent.socketPath
        let group = DispatchGroup()
        for client in 0..<50 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                for n in 0..<20 {
                    let id = CloudHarness.id(n, group: client + 1)
                    do {
                        let responses = try CloudHarness.submit(
                            to: socketPath, .create,
                            ControlArguments(id: id, publicKey: CloudHarness.key, wait: true, timeoutMs: 60_000))
                        if responses.last?.event != .outcome || responses.last?.result?.requests?.first?.state != "acked" {
                            failures.append("\(id): \(responses)")
                        }
                    } catch {
                        failures.append("\(id): \(error)")
                    }
                }
            }
        }
        let waited = group.wait(timeout: .now() + 120)
        #expect(waited == .success)
        #expect(failures.value.isEmpty, "\(failures.value.prefix(5))")
        let state = try cloud.responder.state()
        #expect(state.registry.count == 1000)
        #expect(state.applied.count == 1000)
    }

    @Test("a client that disconnects while waiting does not disturb the agent; its request is still sent")
    func clientGoesAway() async throws {
        let cloud = try CloudHarness()
        try await cloud.responder.setBehaviour("{\"mode\":\"late\",\"delayMs\":500}")
        let id = CloudHarness.id(1)
        do {
            let socket = try RawUnixSocket(path: cloud.agent.socketPath)
            let request = ControlRequest(id: "w", verb: .create, args: ControlArguments(id: id, publicKey: CloudHarness.key, wait: true))
            socket.send(ControlCoding.encodeLine(request))
            #expect(socket.readLine()?.contains("\"event\":\"accepted\"") == true)
        }  // the socket closes here, mid-wait
        _ = try await cloud.waitForStatus("the request acked") { $0.queued == 0 && $0.inFlight == 0 }
        #expect(try cloud.responder.state().registry[id] != nil)
        #expect(try cloud.status().connection == "connected")
    }
}

/// A tiny lock-protected array for test threads.
final class Mutex_<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func append<Element>(_ element: Element) where Value == [Element] { lock.withLock { stored.append(element) } }
}
