import AgentConfig
import GatewayCore
import TestSupport
import Testing

/// An identities directory in a fresh temporary directory. Call `remove()` when done.
struct IdentitiesFixture {
    let root: TempDirectory

    init() throws {
        root = try TempDirectory(prefix: "identities")
        try root.directory("identities.d")
    }

    /// The directory `IdentityFiles.load` reads.
    var directory: String { root.path("identities.d") }

    /// Path of `name` inside the directory.
    func path(_ name: String) -> String { "\(directory)/\(name)" }

    /// Writes `identities.d/<name>`.
    @discardableResult
    func file(_ name: String, _ contents: String, mode: UInt32 = 0o644) throws -> String {
        try root.file("identities.d/\(name)", contents: contents, mode: mode)
    }

    func load() -> IdentityFilesReport {
        IdentityFiles.load(directory: directory, publicKeyCheck: acceptBeginPublicKey)
    }

    /// The problems as printed lines.
    func problems() -> [String] { load().problems.map(\.description) }

    func remove() { root.remove() }
}

/// Stands in for CryptoSupport's check: accepts text that starts like a PEM public key.
func acceptBeginPublicKey(_ pem: String) throws(ValidationError) {
    guard pem.hasPrefix("-----BEGIN PUBLIC KEY-----") else {
        throw ValidationError(field: "publicKey", rule: "is not PEM; give a public key beginning with -----BEGIN PUBLIC KEY-----")
    }
}

let samplePEM = """
    -----BEGIN PUBLIC KEY-----
    MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEexampleexampleexampleexample
    -----END PUBLIC KEY-----

    """

let sensorID = "5f0c8a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6"
let parentID = "9b1e4d2c-7a6f-4e3b-a1c0-d9e8f7a6b5c4"

/// A valid identity file with an inline key and `id`.
func inlineIdentity(_ id: String = sensorID, extra: String = "") -> String {
    "id = \"\(id)\"\npublic_key = \"\"\"\n\(samplePEM)\"\"\"\n" + extra
}

@Suite("identities.d: valid files")
struct IdentityFilesTests {
    @Test("a file with a relative public_key_file declares the identity with every property")
    func keyFileIdentity() throws {
        let fixture = try IdentitiesFixture()
        defer { fixture.remove() }
        try fixture.file("keys/sensor-1.pem", samplePEM)
        try fixture.file("sensor-1.toml", """
            id = "\(sensorID.uppercased())"
            public_key_file = "keys/sensor-1.pem"
            parent = "\(parentID.uppercased())"
            target = "line-3/press-7"
            context = "hall b"
            """)
        let report = fixture.load()
        #expect(report.problems == [])
        #expect(report.identities == [
            DeclaredIdentity(
                id: try #require(IdentityID(sensorID)), parent: IdentityID(parentID), publicKey: samplePEM,
                target: "line-3/press-7", context: "hall b", fileName: "sensor-1.toml")
        ])
        #expect(report.identities.first?.id.rawValue == sensorID)
        #expect(report.identities.first?.parent?.rawValue == parentID)
        #expect(report.identities.first?.origin == "file:sensor-1.toml")
        #expect(report.skippedFiles == [])
        #expect(report.isComplete)
    }

    @Test("an inline public_key declares the identity without parent, target or context")
    func inlineKeyIdentity() throws {
        let fixture = try IdentitiesFixture()
        defer { fixture.remove() }
        try fixture.file("sensor.toml", inlineIdentity())
        let report = fixture.load()
        #expect(report.problems == [])
        let identity = try #require(report.identities.first)
        #expect(report.identities.count == 1)
        #expect(identity.publicKey == samplePEM)
        #expect(identity.parent == nil && identity.target == nil && identity.context == nil)
    }

    @Test("a relative key path is resolved against the directory, an absolute one is taken as it is")
    func keyPathResolution() throws {
        let fixture = try IdentitiesFixture()
        defer { fixture.remove() }
        // Outside the directory: reached by `..` and by an absolute path.
        let outside = try fixture.root.file("shared/key.pem", contents: samplePEM)
        try fixture.file("a.toml", "id = \"\(sensorID)\"\npublic_key_file = \"../shared/key.pem\"\n")
        try fixture.file("b.toml", "id = \"\(parentID)\"\npublic_key_file = \"\(outside)\"\n")
        let report = fixture.load()
        #expect(report.problems == [])
        #expect(report.identities.map(\.publicKey) == [samplePEM, samplePEM])
    }

    @Test("files are read in byte order of their names; dotfiles and other names are ignored")
    func nameOrder() throws {
        let fixture = try IdentitiesFixture()
        defer { fixture.remove() }
        let ids = (1...4).map { "00000000-0000-4000-8000-00000000000\($0)" }
        try fixture.file("b.toml", inlineIdentity(ids[0]))
        try fixture.file("B.toml", inlineIdentity(ids[1]))
        try fixture.file("10-a.toml", inlineIdentity(ids[2]))
        try fixture.file("a.toml", inlineIdentity(ids[3]))
        try fixture.file(".hidden.toml", "this is not TOML")
        try fixture.file("example.toml.sample", "nor is this")
        try fixture.file("README", "nor this")
        try fixture.file("editor.toml~", "nor this")
        try fixture.root.directory("identities.d/sub")
        let report = fixture.load()
        #expect(report.problems == [])
        #expect(report.identities.map(\.fileName) == ["10-a.toml", "B.toml", "a.toml", "b.toml"])
        #expect(report.identities.map(\.id.rawValue) == [ids[2], ids[1], ids[3], ids[0]])
    }

    @Test("a missing directory declares no identities and is no problem")
    func missingDirectory() throws {
        let root = try TempDirectory(prefix: "identities")
        defer { root.remove() }
        let report = IdentityFiles.load(directory: root.path("nowhere/identities.d"), publicKeyCheck: acceptBeginPublicKey)
        #expect(report == IdentityFilesReport(identities: [], problems: [], skippedFiles: [], isComplete: true))
    }

    @Test("an empty directory declares no identities")
    func emptyDirectory() throws {
        let fixture = try IdentitiesFixture()
        defer { fixture.remove() }
        #expect(fixture.load() == IdentityFilesReport(identities: [], problems: [], skippedFiles: [], isComplete: true))
    }

    @Test("a trailing slash in the directory does not change the paths that problems name")
    func trailingSlash() throws {
        let fixture = try IdentitiesFixture()
        defer { fixture.remove() }
        try fixture.file("a.toml", "id = 1\n")
        let report = IdentityFiles.load(directory: fixture.directory + "/", publicKeyCheck: acceptBeginPublicKey)
        #expect(report.problems.map(\.file) == [fixture.path("a.toml"), fixture.path("a.toml")])
    }

    @Test("the shipped example, copied to a .toml name, declares its identity")
    func shippedExample() throws {
        let sample = repositoryRoot + "/config/identities.d/example.toml.sample"
        let fixture = try IdentitiesFixture()
        defer { fixture.remove() }
        try fixture.file("sensor-1.toml", String(decoding: readAll(sample), as: UTF8.self))
        try fixture.file("keys/sensor-1.pem", samplePEM)
        let report = fixture.load()
        #expect(report.problems == [])
        #expect(report.identities.map(\.fileName) == ["sensor-1.toml"])
        #expect(report.identities.first?.parent != nil)
    }

    @Test("the shipped example documents every key and is not loaded as it is")
    func shippedExampleDocumentsKeys() throws {
        let directory = repositoryRoot + "/config/identities.d"
        let text = try String(decoding: readAll(directory + "/example.toml.sample"), as: UTF8.self)
        for key in IdentityFiles.keys {
            #expect(text.contains("\n\(key) = ") || text.contains("\n# \(key) = "), "\(key) is not documented")
        }
        #expect(IdentityFiles.load(directory: directory, publicKeyCheck: acceptBeginPublicKey).identities == [])
    }
}
