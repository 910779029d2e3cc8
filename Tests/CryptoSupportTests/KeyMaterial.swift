import Foundation
import TestSupport

/// Keys, certificates and other PEM texts made by the openssl CLI, once per test run.
enum KeyMaterial {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let directory = URL(fileURLWithPath: try! TempDirectory.removedAtExit(prefix: "crypto-tests").path)

    /// Runs `openssl arguments` in `directory`; returns standard output.
    @discardableResult
    static func openssl(_ arguments: [String]) throws -> String {
        let outcome = try ChildProcess.run(TestExecutables.openssl, arguments, workingDirectory: directory.path)
        guard outcome.succeeded else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")) failed: \(outcome.stderr)")
        }
        return outcome.stdout
    }

    /// A new private key (PEM, PKCS#8) from `genpkey` arguments, and its public key.
    static func keyPair(_ genpkeyArguments: [String]) throws -> (privateKey: String, publicKey: String) {
        let name = "key-\(UUID().uuidString).pem"
        try openssl(["genpkey"] + genpkeyArguments + ["-out", name])
        let privateKey = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        let publicKey = try openssl(["pkey", "-in", name, "-pubout"])
        return (privateKey, publicKey)
    }

    /// The public key of a new key pair.
    static func publicKey(_ genpkeyArguments: [String]) throws -> String {
        try keyPair(genpkeyArguments).publicKey
    }

    /// Writes `text` to a fresh file in `directory`; returns its name.
    static func write(_ text: String) throws -> String {
        let name = "input-\(UUID().uuidString).pem"
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        return name
    }

    /// The base64 body of a PEM text, decoded.
    static func der(ofPEM pem: String) -> Data {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Data(base64Encoded: body)!
    }

    /// `der` as a PEM block labelled `label`, 64 characters a line.
    static func pem(der: Data, label: String) -> String {
        let body = der.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(body)\n-----END \(label)-----\n"
    }
}
