import Glibc

/// Public keys for test identities, made with the openssl CLI (EC P-256, PEM SubjectPublicKeyInfo).
public enum TestKeys {
    /// A fresh PEM public key.
    public static func publicKey() throws -> String {
        let child = try ChildProcess(
            executable: "/bin/sh",
            arguments: [
                "-c", "openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout",
            ])
        let lines = try child.readAllLines()
        guard child.wait() == .exited(0), lines.first == "-----BEGIN PUBLIC KEY-----" else {
            throw ChildProcessError("openssl did not produce a public key")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes a fresh public key to `directory/name` and returns its path.
    public static func publicKeyFile(in directory: TempDirectory, name: String) throws -> String {
        try directory.file(name, contents: try publicKey(), mode: 0o644)
    }
}
