import Glibc

/// Public keys for test identities, made with the openssl CLI (EC P-256, PEM SubjectPublicKeyInfo).
public enum TestKeys {
    /// A fresh PEM public key.
    public static func publicKey() throws -> String {
        let outcome = try ChildProcess.run(
            "/bin/sh",
            [
                "-c", "\"$0\" genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 | \"$0\" pkey -pubout",
                TestExecutables.openssl,
            ]
        ).checked()
        guard outcome.stdout.hasPrefix("-----BEGIN PUBLIC KEY-----\n") else {
            throw ChildProcessError("openssl did not produce a public key: \(outcome)")
        }
        return outcome.stdout
    }

    /// Writes a fresh public key to `directory/name` and returns its path.
    public static func publicKeyFile(in directory: TempDirectory, name: String) throws -> String {
        try directory.file(name, contents: try publicKey(), mode: 0o644)
    }
}
