import Foundation

/// A throwaway CA and a server certificate signed by it, made with the openssl CLI, for TLS endpoints in tests;
/// plus an unrelated CA that must not be trusted for that server.
public struct TestTunnelCertificates: Sendable {
    /// PEM of the CA that signed the server certificate.
    public let caFile: String
    /// PEM of a CA that signed nothing here (for "wrong CA" tests).
    public let otherCAFile: String
    /// PEM of the server certificate.
    public let serverCertificateFile: String
    /// PEM of the server's private key.
    public let serverKeyFile: String

    /// Why the openssl CLI failed.
    public struct Failure: Error, CustomStringConvertible {
        /// The command and its output.
        public let description: String
    }

    /// Writes the CA, the other CA and a server certificate valid for `subjectAltNames` (openssl syntax,
    /// e.g. `DNS:localhost`, `IP:127.0.0.1`) into `directory`.
    public static func make(in directory: String, subjectAltNames: [String] = ["DNS:localhost"]) throws
        -> TestTunnelCertificates
    {
        func path(_ name: String) -> String { directory + "/" + name }
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(
            ["req", "-x509"] + curve + [
                "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=Tunnel Test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        try openssl(
            ["req", "-x509"] + curve + [
                "-keyout", path("other-ca.key"), "-out", path("other-ca.pem"), "-days", "2", "-subj",
                "/CN=Unrelated Test CA",
            ])
        try openssl(
            ["req"] + curve + ["-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=tunnel test"])
        let extensions =
            "subjectAltName=\(subjectAltNames.joined(separator: ","))\nbasicConstraints=CA:FALSE\n"
            + "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        try extensions.write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
            "-CAcreateserial", "-out", path("server.pem"), "-days", "2", "-extfile", path("server.ext"),
        ])
        return TestTunnelCertificates(
            caFile: path("ca.pem"), otherCAFile: path("other-ca.pem"), serverCertificateFile: path("server.pem"),
            serverKeyFile: path("server.key"))
    }

    private static func openssl(_ arguments: [String]) throws {
        let outcome = try ChildProcess.run(TestExecutables.openssl, arguments)
        guard outcome.succeeded else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")) failed: \(outcome.stderr)")
        }
    }
}
