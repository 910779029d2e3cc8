import Foundation
import Glibc

/// A throwaway PKI for HTTPS tests, made with the openssl CLI: a CA, a server certificate it signed for
/// `localhost`/`127.0.0.1`, one for another name, an expired one, and an unrelated CA that trusts none.
public struct HTTPSTestCertificates: Sendable {
    /// Directory holding every file below.
    public let directory: String
    /// The CA that signed both server certificates.
    public let caFile: String
    /// A CA that signed nothing here.
    public let otherCAFile: String
    /// Server certificate for DNS `localhost` and IP `127.0.0.1`, and its key.
    public let serverCertificate: String
    public let serverKey: String
    /// Server certificate for `other.example` only, and its key.
    public let wrongNameCertificate: String
    public let wrongNameKey: String
    /// Server certificate for `localhost`/`127.0.0.1` that expired yesterday, and its key.
    public let expiredCertificate: String
    public let expiredKey: String

    /// Made once per test process: key generation is the slow part.
    public static let shared: Result<HTTPSTestCertificates, HTTPSFixtureError> = Result {
        () throws(HTTPSFixtureError) in
        try make()
    }

    /// A new PKI in a new temporary directory, removed when the test process exits.
    public static func make() throws(HTTPSFixtureError) -> HTTPSTestCertificates {
        let directory: String
        do {
            directory = try TempDirectory.removedAtExit(prefix: "https-fixture").path
        } catch {
            throw HTTPSFixtureError(description: "cannot create the certificates' directory: \(error)")
        }
        func openssl(_ arguments: [String]) throws(HTTPSFixtureError) {
            do {
                try ChildProcess.run(TestExecutables.openssl, arguments, workingDirectory: directory).checked()
            } catch {
                throw HTTPSFixtureError(description: "\(error)")
            }
        }
        func makeCA(_ name: String) throws(HTTPSFixtureError) {
            try openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "90", "-subj",
                "/CN=gateway-agent test \(name)",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        }
        // 90 days: `gateway-agent check` warns about certificates that expire within 14.
        func makeServer(_ name: String, subjectAltName: String, days: Int = 90) throws(HTTPSFixtureError) {
            try openssl([
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name)",
            ])
            let extensions = "\(name).ext"
            let text = "subjectAltName=\(subjectAltName)\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
            guard FileManager.default.createFile(atPath: "\(directory)/\(extensions)", contents: Data(text.utf8)) else {
                throw HTTPSFixtureError(description: "cannot write \(directory)/\(extensions)")
            }
            try openssl([
                "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "\(name).pem", "-days", String(days), "-extfile", extensions,
            ])
        }
        try makeCA("ca")
        try makeCA("other-ca")
        try makeServer("server", subjectAltName: "DNS:localhost,IP:127.0.0.1")
        try makeServer("wrong-name", subjectAltName: "DNS:other.example")
        try makeServer("expired", subjectAltName: "DNS:localhost,IP:127.0.0.1", days: -1)
        return HTTPSTestCertificates(
            directory: directory, caFile: "\(directory)/ca.pem", otherCAFile: "\(directory)/other-ca.pem",
            serverCertificate: "\(directory)/server.pem", serverKey: "\(directory)/server.key",
            wrongNameCertificate: "\(directory)/wrong-name.pem", wrongNameKey: "\(directory)/wrong-name.key",
            expiredCertificate: "\(directory)/expired.pem", expiredKey: "\(directory)/expired.key")
    }
}

/// A test fixture failed to start or a tool it needs failed.
public struct HTTPSFixtureError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// A python3 fixture from `Tests/Fixtures` that prints `PORT <n>` when ready and exits when its
/// standard input closes (so it dies with the test process). Its stderr goes to a log file, quoted when it fails.
public final class PythonFixture: Sendable {
    /// The loopback port it listens on.
    public let port: Int
    private let process: ChildProcess
    private let directory: TempDirectory

    /// Starts `Tests/Fixtures/<script>` with `arguments` and waits (at most 10 s) for its port.
    public init(script: String, arguments: [String]) throws(HTTPSFixtureError) {
        let path = fixturesDirectory + "/" + script
        do {
            // Removed at exit rather than on stop: shared fixtures are never deinitialised.
            directory = try TempDirectory.removedAtExit(prefix: "python-fixture")
        } catch {
            throw HTTPSFixtureError(description: "cannot create a directory for \(script)'s log: \(error)")
        }
        let log = directory.path("stderr.log")
        do {
            process = try ChildProcess(
                executable: TestExecutables.python3, arguments: [path] + arguments, stdout: .capture,
                stderr: .file(log), stdinPipe: true)
        } catch {
            throw HTTPSFixtureError(description: "cannot start python3 \(path): \(error)")
        }
        let line: String?
        do {
            line = try process.readLine(timeout: .seconds(10))
        } catch {
            line = "(\(error))"
        }
        guard let line, line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            let ended = process.stop(grace: .seconds(2))
            let stderr = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw HTTPSFixtureError(
                description: "\(script) did not report a port (stdout: \(line ?? "end of file"); \(ended)): \(stderr)")
        }
        self.port = port
    }

    /// Writes `command` as one line to the fixture's stdin and returns its one-line answer.
    public func command(_ command: String, timeout: Duration = .seconds(10)) throws(ChildProcessError) -> String {
        try process.writeToStdin(command + "\n")
        guard let answer = try process.readLine(timeout: timeout) else {
            throw ChildProcessError("\(process.executable) ended instead of answering \(command)")
        }
        return answer
    }

    /// Stops the fixture: closes its stdin, SIGTERM, SIGKILL if it is still running after 5 s.
    public func stop() {
        process.closeStdin()
        process.stop()
    }

    deinit {
        stop()
        directory.remove()
    }
}

/// The HTTPS fixture (`https_fixture.py`) with a certificate for 127.0.0.1 signed by the shared test CA.
public func startHTTPSFixture(wrongName: Bool = false) throws(HTTPSFixtureError) -> PythonFixture {
    let certificates = try HTTPSTestCertificates.shared.get()
    return try PythonFixture(
        script: "https_fixture.py",
        arguments: wrongName
            ? [certificates.wrongNameCertificate, certificates.wrongNameKey]
            : [certificates.serverCertificate, certificates.serverKey])
}

/// A loopback TCP port nothing listens on (bound, then released).
public func unusedLoopbackPort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(descriptor, pointer, length)
            return getsockname(descriptor, pointer, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

private let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path
