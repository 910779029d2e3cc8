import Foundation
import Glibc

/// The fake AWS IoT Core gateway (`Tests/Fixtures/aws_iot_gateway.py`): TLS + WebSocket on a loopback port,
/// presigned URLs checked the way AWS IoT checks them against the credentials the fake organization endpoint
/// handed out, MQTT relayed to a real mosquitto. Commands drop connections, revoke keys or refuse upgrades.
///
/// The process is killed when the value goes away. Not `Sendable`: one test drives it.
public final class AWSIoTGatewayFixture {
    /// One line of the gateway's event log.
    public struct Event: Sendable, CustomStringConvertible {
        /// `accepted`, `refused`, `ended` or `tls-failed`.
        public let kind: String
        /// The access key id of the upgrade (nil when the request named none).
        public let accessKeyID: String?
        /// `X-Amz-Date` of an accepted upgrade.
        public let amzDate: String?
        /// `X-Amz-Signature` of an accepted upgrade.
        public let signature: String?
        /// The `Host` header of an accepted upgrade.
        public let host: String?
        /// The HTTP status of a refusal.
        public let status: Int?
        /// Why it was refused or ended.
        public let reason: String?

        /// The event as one line, for failure messages.
        public var description: String {
            "\(kind) key=\(accessKeyID ?? "-") status=\(status.map(String.init) ?? "-") reason=\(reason ?? "-")"
        }
    }

    /// The loopback port the gateway listens on.
    public let port: Int
    /// Where the gateway writes its events (JSON lines).
    public let eventsFile: String
    private let directory: TempDirectory
    private let process: ChildProcess

    /// Starts a gateway that trusts what the organization endpoint wrote to `issuedCredentialsFile` and relays
    /// to the MQTT broker listening on the Unix socket `brokerSocket`; TLS with `certificate` and `key`.
    /// `clockOffset`: seconds the gateway's clock (its `Date` headers and signature checks) is ahead of this host's.
    public init(
        issuedCredentialsFile: String, brokerSocket: String, certificate: String, key: String,
        region: String = "eu-west-1", clockOffset: Int = 0
    ) throws {
        directory = try TempDirectory(prefix: "aws-iot-gateway")
        eventsFile = directory.path("events.jsonl")
        process = try ChildProcess(
            executable: "/usr/bin/env",
            arguments: [
                "python3", Self.script, "--cert", certificate, "--key", key,
                "--issued", issuedCredentialsFile, "--target", "unix:\(brokerSocket)", "--events", eventsFile,
                "--region", region, "--clock-offset", String(clockOffset),
            ],
            stdout: .capture, stderr: .inherit, stdinPipe: true)
        guard let line = try process.readLine(timeout: .seconds(10)), line.hasPrefix("PORT "),
            let port = Int(line.dropFirst(5))
        else {
            throw ChildProcessError("aws_iot_gateway.py did not report its port")
        }
        self.port = port
    }

    deinit {
        process.closeStdin()
        if process.wait(timeout: .seconds(2)) == nil {
            process.send(SIGKILL)
            process.wait()
        }
        directory.remove()
    }

    /// Drops every relayed connection without a WebSocket close frame (AWS's 24 h limit); returns how many.
    @discardableResult
    public func drop() throws -> Int { try countedCommand("drop") }

    /// Sends every relayed connection a close frame 1001 "going away" and closes it; returns how many.
    @discardableResult
    public func closeAll() throws -> Int { try countedCommand("close") }

    /// Revokes every key issued so far: their connections are dropped, later upgrades with them get 403.
    public func revoke() throws { _ = try command("revoke") }

    /// Makes every key issued so far verify against a different secret: upgrades signed with them get 403
    /// "signature mismatch", as a wrongly signed URL would. Connections already up stay up.
    public func mismatchSignatures() throws { _ = try command("mismatch") }

    /// Answers every later upgrade with 403, until `accept()`.
    public func refuse() throws { _ = try command("refuse") }

    /// Verifies upgrades again.
    public func accept() throws { _ = try command("accept") }

    /// Keeps later good upgrades waiting for their answer (at most 30 s), until `release()`.
    public func hold() throws { _ = try command("hold") }

    /// Answers the upgrades held, and later ones at once.
    public func release() throws { _ = try command("release") }

    /// Sends one command line and returns the gateway's `OK …` answer.
    public func command(_ line: String) throws -> String {
        try process.writeToStdin(line + "\n")
        guard let answer = try process.readLine(timeout: .seconds(10)), answer.hasPrefix("OK") else {
            throw ChildProcessError("aws_iot_gateway.py did not accept the command \(line)")
        }
        return answer
    }

    private func countedCommand(_ verb: String) throws -> Int {
        Int(try command(verb).split(separator: " ").last ?? "") ?? 0
    }

    /// Every event so far, oldest first.
    public var events: [Event] {
        guard let text = try? String(contentsOfFile: eventsFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let kind = entry["event"] as? String
            else { return nil }
            return Event(
                kind: kind, accessKeyID: entry["accessKeyId"] as? String, amzDate: entry["amzDate"] as? String,
                signature: entry["signature"] as? String, host: entry["host"] as? String,
                status: entry["status"] as? Int, reason: entry["reason"] as? String)
        }
    }

    /// The upgrades accepted so far.
    public var accepted: [Event] { events.filter { $0.kind == "accepted" } }

    /// The upgrades refused so far.
    public var refused: [Event] { events.filter { $0.kind == "refused" } }

    /// Polls the events until `condition` holds; throws with every event when `timeout` passes.
    @discardableResult
    public func waitForEvents(
        _ what: String, timeout: Duration = .seconds(20), until condition: ([Event]) -> Bool
    ) async throws -> [Event] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let events = self.events
            if condition(events) { return events }
            try await Task.sleep(for: .milliseconds(20))
        }
        let events = self.events
        if condition(events) { return events }
        throw ChildProcessError(
            "gateway: timed out waiting for \(what); events:\n\(events.map(\.description).joined(separator: "\n"))")
    }

    /// `Tests/Fixtures/aws_iot_gateway.py` of this package.
    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/aws_iot_gateway.py").path
}
