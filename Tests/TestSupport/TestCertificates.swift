import Foundation

/// A throwaway PKI for TLS tests, made with the `openssl` command line tool in a private temp directory
/// (0700, files 0600), removed when the value goes away.
///
/// - `ca`: the test CA; `server` (SAN `DNS:localhost`, `IP:127.0.0.1`) and `client` (CN `gateway-test-client`)
///   are signed by it.
/// - `wrongHost`: signed by the test CA, but only for `DNS:broker.invalid` (host-name mismatch tests).
/// - `otherCA` and `otherClient`: an unrelated CA and a client certificate it signed (wrong-CA tests).
public final class TestCertificates: Sendable {
    /// The private directory holding every file.
    public let directory: String

    /// The test CA certificate (PEM).
    public var caFile: String { file("ca.pem") }
    /// Server certificate for `localhost` / `127.0.0.1`, signed by the test CA.
    public var serverCertFile: String { file("server.pem") }
    /// Key of `serverCertFile`.
    public var serverKeyFile: String { file("server.key") }
    /// Client certificate (CN `gateway-test-client`) signed by the test CA.
    public var clientCertFile: String { file("client.pem") }
    /// Key of `clientCertFile`.
    public var clientKeyFile: String { file("client.key") }
    /// Server certificate signed by the test CA for `broker.invalid` only.
    public var wrongHostCertFile: String { file("wronghost.pem") }
    /// Key of `wrongHostCertFile`.
    public var wrongHostKeyFile: String { file("wronghost.key") }
    /// An unrelated CA: trusting only this one must fail against the test broker.
    public var otherCAFile: String { file("other-ca.pem") }
    /// Client certificate signed by the unrelated CA: the test broker must refuse it.
    public var otherClientCertFile: String { file("other-client.pem") }
    /// Key of `otherClientCertFile`.
    public var otherClientKeyFile: String { file("other-client.key") }

    /// The common name of `clientCertFile`; brokers using `use_identity_as_username` see it as the username.
    public static let clientCommonName = "gateway-test-client"

    /// One set for the whole test process (generating costs a dozen `openssl` runs); removed at exit.
    public static func shared() throws -> TestCertificates {
        try sharedSet.get()
    }

    private static let sharedSet: Result<TestCertificates, any Error> = {
        let result = Result { try TestCertificates() }
        // Statics are never deinitialised; by exit time `sharedSet` is long initialised.
        atexit {
            if case .success(let certificates) = TestCertificates.sharedSet {
                try? FileManager.default.removeItem(atPath: certificates.directory)
            }
        }
        return result
    }()

    /// Generates the whole set (EC P-256 keys, valid for two days).
    public init() throws {
        directory = try MQTTTestCommand.makePrivateDirectory(prefix: "test-pki")
        do {
            try makeCA("ca", subject: "/CN=gateway-agent test CA")
            try makeCA("other-ca", subject: "/CN=unrelated test CA")
            try makeLeaf(
                "server", subject: "/CN=localhost", signer: "ca",
                extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
            try makeLeaf(
                "wronghost", subject: "/CN=broker.invalid", signer: "ca",
                extensions: "subjectAltName=DNS:broker.invalid\nextendedKeyUsage=serverAuth")
            try makeLeaf(
                "client", subject: "/CN=\(Self.clientCommonName)", signer: "ca", extensions: "extendedKeyUsage=clientAuth")
            try makeLeaf(
                "other-client", subject: "/CN=\(Self.clientCommonName)", signer: "other-ca",
                extensions: "extendedKeyUsage=clientAuth")
            try MQTTTestCommand.restrictFiles(in: directory)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func file(_ name: String) -> String { "\(directory)/\(name)" }

    private func makeKey(_ name: String) throws {
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file("\(name).key")])
    }

    private func makeCA(_ name: String, subject: String) throws {
        try makeKey(name)
        try openssl([
            "req", "-x509", "-new", "-key", file("\(name).key"), "-subj", subject, "-days", "2", "-sha256",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", file("\(name).pem"),
        ])
    }

    private func makeLeaf(_ name: String, subject: String, signer: String, extensions: String) throws {
        try makeKey(name)
        try openssl(["req", "-new", "-key", file("\(name).key"), "-subj", subject, "-out", file("\(name).csr")])
        let extensionsFile = file("\(name).ext")
        try "basicConstraints=CA:FALSE\n\(extensions)\n".write(toFile: extensionsFile, atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", file("\(name).csr"), "-CA", file("\(signer).pem"), "-CAkey", file("\(signer).key"),
            "-set_serial", String(UInt32.random(in: 1...UInt32.max)), "-days", "2", "-sha256",
            "-extfile", extensionsFile, "-out", file("\(name).pem"),
        ])
        try? FileManager.default.removeItem(atPath: file("\(name).csr"))
        try? FileManager.default.removeItem(atPath: extensionsFile)
    }

    private func openssl(_ arguments: [String]) throws {
        try ChildProcess.run(TestExecutables.openssl, arguments).checked()
    }
}
