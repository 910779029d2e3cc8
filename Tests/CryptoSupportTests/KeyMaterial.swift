import Foundation

/// Keys, certificates and other PEM texts made by the openssl CLI, once per test run.
enum KeyMaterial {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("crypto-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Runs `openssl arguments` in `directory`; returns standard output.
    @discardableResult
    static func openssl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")) failed: \(errorText)")
        }
        return String(decoding: data, as: UTF8.self)
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
