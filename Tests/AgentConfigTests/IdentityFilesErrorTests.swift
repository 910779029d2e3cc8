import AgentConfig
import GatewayCore
import Glibc
import TestSupport
import Testing

@Suite("identities.d: bad files")
struct IdentityFilesErrorTests {
    /// Loads a directory holding `contents` as `bad.toml` beside a valid `good.toml`, checks that only
    /// `bad.toml` is skipped, and returns its problems as printed lines.
    private func problems(
        of contents: String, keyFiles: [String: String] = [:], chmod: [String: UInt32] = [:]
    ) throws -> (lines: [String], file: String) {
        let fixture = try IdentitiesFixture()
        defer { fixture.remove() }
        for (name, text) in keyFiles { try fixture.file(name, text) }
        for (name, mode) in chmod { try fixture.root.chmod("identities.d/\(name)", mode: mode) }
        try fixture.file("good.toml", inlineIdentity(parentID))
        let file = try fixture.file("bad.toml", contents)
        let report = fixture.load()
        #expect(report.identities.map(\.fileName) == ["good.toml"])
        #expect(report.skippedFiles == ["bad.toml"])
        #expect(report.isComplete)
        #expect(report.problems.allSatisfy { $0.file == file })
        return (report.problems.map(\.description), file)
    }

    @Test("an unknown key is reported with a suggestion and the keys expected")
    func unknownKey() throws {
        let (lines, file) = try problems(of: inlineIdentity(extra: "publickey_file = \"x.pem\"\n"))
        #expect(lines == [
            "\(file):publickey_file: unknown key (did you mean public_key_file?); "
                + "expected one of the keys: id, public_key_file, public_key, parent, target, context"
        ])
    }

    @Test("a table is reported as unknown: identity files have plain keys only")
    func unknownTable() throws {
        let (lines, file) = try problems(of: inlineIdentity(extra: "[identity]\ntarget = \"x\"\n"))
        #expect(lines == [
            "\(file):identity: unknown table [identity]; an identity file has no tables; "
                + "expected one of the keys: id, public_key_file, public_key, parent, target, context"
        ])
    }

    @Test("a key of the wrong type names the type expected and the value found", arguments: [
        ("id = 42\npublic_key_file = \"k.pem\"\n", "id", "wrong type: expected a UUID such as"),
        (inlineIdentity(extra: "target = 7\n"), "target", "wrong type: expected text for the target property, got an integer (7)"),
        (inlineIdentity(extra: "context = true\n"), "context", "wrong type: expected text for the context property, got a boolean (true)"),
        (inlineIdentity(extra: "parent = [\"\(parentID)\"]\n"), "parent", "wrong type: expected a UUID such as"),
        ("id = \"\(sensorID)\"\npublic_key_file = 1\n", "public_key_file", "wrong type: expected the path of a PEM public key file, got an integer (1)"),
    ])
    func wrongType(contents: String, key: String, message: String) throws {
        let (lines, file) = try problems(of: contents, keyFiles: ["k.pem": samplePEM])
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.hasPrefix("\(file):\(key): \(message)") == true, "\(lines)")
    }

    @Test("a file without id is reported")
    func missingID() throws {
        let (lines, file) = try problems(of: "public_key = \"\"\"\n\(samplePEM)\"\"\"\n")
        #expect(lines == [
            "\(file):id: required key is missing; expected a UUID such as \"5f0c8a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6\""
        ])
    }

    @Test("an id or parent that is not a UUID is reported with the value", arguments: ["id", "parent"])
    func badUUID(key: String) throws {
        let contents = key == "id" ? inlineIdentity("sensor-1") : inlineIdentity(extra: "parent = \"5f0c8a1e-2b3d\"\n")
        let got = key == "id" ? "\"sensor-1\"" : "\"5f0c8a1e-2b3d\""
        let (lines, file) = try problems(of: contents)
        #expect(lines == ["\(file):\(key): expected a UUID such as \"5f0c8a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6\", got \(got)"])
    }

    @Test("public_key_file and public_key together are refused")
    func bothKeys() throws {
        let (lines, file) = try problems(of: inlineIdentity(extra: "public_key_file = \"k.pem\"\n"), keyFiles: ["k.pem": samplePEM])
        #expect(lines == [
            "\(file):public_key: is set together with public_key_file; keep exactly one of the two (the file or the inline PEM)"
        ])
    }

    @Test("a file with neither public_key_file nor public_key is refused")
    func neitherKey() throws {
        let (lines, file) = try problems(of: "id = \"\(sensorID)\"\n")
        #expect(lines == [
            "\(file):public_key_file: required key is missing; set public_key_file (a PEM file, relative to this directory) "
                + "or public_key (the PEM text inline)"
        ])
    }

    @Test("an inline key the check refuses is reported with the check's rule, never with the key")
    func inlineKeyRefused() throws {
        let (lines, file) = try problems(of: "id = \"\(sensorID)\"\npublic_key = \"MY-PRIVATE-MATERIAL\"\n")
        #expect(lines == [
            "\(file):public_key: the public key is refused: is not PEM; give a public key beginning with -----BEGIN PUBLIC KEY-----"
        ])
        #expect(!lines.joined().contains("MY-PRIVATE-MATERIAL"))
    }

    @Test("a key file whose content the check refuses names the key file")
    func keyFileRefused() throws {
        let (lines, file) = try problems(
            of: "id = \"\(sensorID)\"\npublic_key_file = \"keys/k.pem\"\n", keyFiles: ["keys/k.pem": "ssh-ed25519 AAAA"])
        let keyPath = parentDirectory(of: file) + "/keys/k.pem"
        #expect(lines == [
            "\(file):public_key_file: the public key in \(keyPath) is refused: is not PEM; "
                + "give a public key beginning with -----BEGIN PUBLIC KEY-----"
        ])
        #expect(!lines.joined().contains("AAAA"))
    }

    @Test("a missing key file names the resolved path")
    func missingKeyFile() throws {
        let (lines, file) = try problems(of: "id = \"\(sensorID)\"\npublic_key_file = \"keys/absent.pem\"\n")
        let keyPath = parentDirectory(of: file) + "/keys/absent.pem"
        #expect(lines == [
            "\(file):public_key_file: public key file \(keyPath) does not exist; write the PEM public key there or fix the path"
        ])
    }

    @Test("a key file larger than 64 KiB is refused")
    func oversizedKeyFile() throws {
        let big = samplePEM + String(repeating: "A", count: 64 * 1024)
        let (lines, file) = try problems(of: "id = \"\(sensorID)\"\npublic_key_file = \"big.pem\"\n", keyFiles: ["big.pem": big])
        let keyPath = parentDirectory(of: file) + "/big.pem"
        #expect(lines == ["\(file):public_key_file: public key file \(keyPath) is larger than 65536 bytes"])
    }

    @Test("a key file path that names a directory is refused")
    func directoryKeyFile() throws {
        let (lines, file) = try problems(of: "id = \"\(sensorID)\"\npublic_key_file = \".\"\n")
        let directory = parentDirectory(of: file)
        #expect(lines == ["\(file):public_key_file: public key file \(directory) is a directory, not a file"])
    }

    @Test("an empty or ~ key file path is refused", arguments: [
        ("\"\"", "expected the path of a PEM public key file, got an empty string"),
        ("\"~/k.pem\"", "expected an absolute path or one relative to this file, got \"~/k.pem\" (~ is not expanded)"),
    ])
    func badKeyPath(value: String, message: String) throws {
        let (lines, file) = try problems(of: "id = \"\(sensorID)\"\npublic_key_file = \(value)\n")
        #expect(lines == ["\(file):public_key_file: \(message)"])
    }

    @Test("a key file that is not UTF-8 is refused")
    func binaryKeyFile() throws {
        let fixture = try IdentitiesFixture()
        defer { fixture.remove() }
        try writeBytes([0x30, 0x82, 0xFF, 0xFE], to: fixture.path("k.der"))
        let file = try fixture.file("a.toml", "id = \"\(sensorID)\"\npublic_key_file = \"k.der\"\n")
        #expect(fixture.problems() == [
            "\(file):public_key_file: public key file \(fixture.path("k.der")) is not UTF-8 text; expected a PEM public key"
        ])
    }

    @Test("a key file the agent's user cannot read is refused", .enabled(if: geteuid() != 0, "root reads every file"))
    func unreadableKeyFile() throws {
        let (lines, file) = try problems(
            of: "id = \"\(sensorID)\"\npublic_key_file = \"k.pem\"\n", keyFiles: ["k.pem": samplePEM], chmod: ["k.pem": 0o000])
        let keyPath = parentDirectory(of: file) + "/k.pem"
        #expect(lines == [
            "\(file):public_key_file: cannot read public key file \(keyPath): permission denied; "
                + "the agent's user must be able to read it"
        ])
    }

    @Test("a parent equal to the id is refused, whatever the spelling")
    func ownParent() throws {
        let (lines, file) = try problems(of: inlineIdentity(extra: "parent = \"\(sensorID.uppercased())\"\n"))
        #expect(lines == [
            "\(file):parent: is the identity's own id, and an identity cannot be its own parent; "
                + "name another identity, or leave parent out for a child of the gateway"
        ])
    }

    @Test("target and context follow the CLI's rules", arguments: [
        ("target = \"\"", "target: must not be empty when given"),
        ("context = \"a\\tb\"", "context: must not contain control characters"),
        ("target = \"\(String(repeating: "t", count: 129))\"", "target: must be at most 128 bytes"),
    ])
    func badProperty(line: String, message: String) throws {
        let (lines, file) = try problems(of: inlineIdentity(extra: line + "\n"))
        #expect(lines == ["\(file):\(message)"])
    }

    @Test("a TOML syntax error names the line and column")
    func syntaxError() throws {
        let (lines, file) = try problems(of: "id = \"\(sensorID)\"\npublic_key = \n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("\(file):2:") == true, "\(lines)")
        #expect(lines.first?.contains("TOML syntax error") == true, "\(lines)")
    }

    @Test("every problem of a file is reported, not only the first")
    func everyProblem() throws {
        let (lines, file) = try problems(of: """
            id = "not-a-uuid"
            parent = 3
            target = ""
            colour = "red"
            """)
        #expect(lines.map { $0.dropFirst(file.count + 1).prefix { $0 != ":" } } == [
            "id", "public_key_file", "parent", "target", "colour",
        ])
    }

    @Test("two files with the same id are both reported and the later one is skipped")
    func duplicateID() throws {
        let fixture = try IdentitiesFixture()
        defer { fixture.remove() }
        let first = try fixture.file("a.toml", inlineIdentity(sensorID))
        try fixture.file("b.toml", inlineIdentity(parentID))
        let second = try fixture.file("c.toml", inlineIdentity(sensorID.uppercased(), extra: "target = \"other\"\n"))
        let report = fixture.load()
        #expect(report.identities.map(\.fileName) == ["a.toml", "b.toml"])
        #expect(report.identities.first?.target == nil)
        #expect(report.skippedFiles == ["c.toml"])
        #expect(report.problems.map(\.description) == [
            "\(first):id: \(sensorID) is also declared by \(second), which is skipped; give each identity exactly one file",
            "\(second):id: \(sensorID) is already declared by \(first); this file is skipped; remove one of the two files",
        ])
    }

    @Test("a directory that cannot be listed is one problem and leaves the report incomplete",
        .enabled(if: geteuid() != 0, "root lists every directory"))
    func unreadableDirectory() throws {
        let fixture = try IdentitiesFixture()
        defer { fixture.remove() }
        try fixture.file("a.toml", inlineIdentity())
        try fixture.root.chmod("identities.d", mode: 0o000)
        let report = fixture.load()
        #expect(report.identities == [])
        #expect(!report.isComplete)
        #expect(report.problems.map(\.description) == [
            "\(fixture.directory): cannot list the identities directory (agent.identities_dir): permission denied; "
                + "the agent's user must be able to read it"
        ])
    }

    @Test("a directory path that names a file is one problem and leaves the report incomplete")
    func directoryIsAFile() throws {
        let root = try TempDirectory(prefix: "identities")
        defer { root.remove() }
        let path = try root.file("identities.d", contents: inlineIdentity())
        let report = IdentityFiles.load(directory: path, publicKeyCheck: acceptBeginPublicKey)
        #expect(report.identities == [])
        #expect(!report.isComplete)
        #expect(report.problems.map(\.description) == [
            "\(path): agent.identities_dir names this path, which is not a directory; "
                + "point it at a directory of one TOML file per identity"
        ])
    }

    @Test("pruning is allowed only for identities whose file is gone, not skipped or unlisted")
    func pruneDecision() {
        let report = IdentityFilesReport(identities: [], problems: [], skippedFiles: ["broken.toml"], isComplete: true)
        #expect(report.mayPrune(origin: "file:removed.toml"))
        #expect(!report.mayPrune(origin: "file:broken.toml"))
        #expect(!report.mayPrune(origin: "cli"))
        let unlisted = IdentityFilesReport(identities: [], problems: [], skippedFiles: [], isComplete: false)
        #expect(!unlisted.mayPrune(origin: "file:removed.toml"))
    }
}

/// The directory holding `file`, against which its relative key paths are resolved.
func parentDirectory(of file: String) -> String {
    String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)])
}
