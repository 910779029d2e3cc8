import Glibc
import TestSupport
import Testing

/// The scanner the secrets audit uses, on transcripts written here: it must find what leaks, and only that.
@Suite("Secret scanner")
struct SecretScannerTests {
    static let token = SecretScanner.Secret(kind: "organization token", value: "tok-3f9a1c77d2e84b6a")
    static let sessionToken = SecretScanner.Secret(kind: "session token", value: "fake-session-token-7//////+=")

    @Test("a registered secret in a transcript is a finding naming the file and the kind, never the secret")
    func findsLeakedSecret() throws {
        try TempDirectory.with { directory in
            try write(directory, secrets: [Self.token, Self.sessionToken], transcripts: [
                "1-run.stderr": "info connected\ndebug bearer \(Self.token.value) sent\n",
                "2-status.stdout": "connection: connected\n",
            ])
            let report = SecretScanner.audit(directory: directory.path)
            #expect(report.findings.map(\.description) == ["organization token in 1-run.stderr"])
            #expect(report.transcripts == 2)
            #expect(report.secrets == 2)
            let problems = SecretScanner.problems(report)
            #expect(problems == ["organization token in 1-run.stderr"])
            #expect(!problems.joined().contains(Self.token.value))
        }
    }

    @Test("a secret is found percent-encoded (in a URL) and with escaped slashes (in JSON)")
    func findsEncodedForms() {
        let url = Array("wss://host/mqtt?X-Amz-Security-Token=fake-session-token-7%2F%2F%2F%2F%2F%2F%2B%3D&x=1".utf8)
        let json = Array(#"{"token":"fake-session-token-7\/\/\/\/\/\/+="}"#.utf8)
        #expect(SecretScanner.findings(in: url, file: "url", secrets: [Self.sessionToken]).map(\.kind) == ["session token"])
        #expect(SecretScanner.findings(in: json, file: "json", secrets: [Self.sessionToken]).map(\.kind) == ["session token"])
    }

    @Test("a PEM private key block is a finding even when its key was never registered")
    func findsPrivateKeyBlock() {
        let text = Array("key:\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n".utf8)
        #expect(SecretScanner.findings(in: text, file: "log", secrets: []).map(\.kind) == ["PEM private key block"])
    }

    @Test("transcripts without secrets give no finding")
    func cleanTranscripts() throws {
        try TempDirectory.with { directory in
            try write(directory, secrets: [Self.token], transcripts: [
                "1-run.stderr": "token file /etc/gateway-agent/token read (20 bytes)\nBEGIN PUBLIC KEY\n",
            ])
            #expect(SecretScanner.problems(SecretScanner.audit(directory: directory.path)).isEmpty)
        }
    }

    @Test("an audit with no transcripts, or no registered secrets, fails instead of passing vacuously")
    func emptyAuditFails() throws {
        try TempDirectory.with { directory in
            try write(directory, secrets: [], transcripts: [:])
            let problems = SecretScanner.problems(SecretScanner.audit(directory: directory.path))
            #expect(problems.count == 2)
            #expect(problems.contains { $0.contains("no transcript") })
            #expect(problems.contains { $0.contains("no secret") })
        }
    }

    private func write(_ directory: TempDirectory, secrets: [SecretScanner.Secret], transcripts: [String: String]) throws {
        _ = try directory.directory("output")
        _ = try directory.file("secrets/1.tsv", contents: secrets.map { "\($0.kind)\t\($0.value)\n" }.joined())
        for (name, text) in transcripts { _ = try directory.file("output/\(name)", contents: text) }
    }
}

/// Every log line and CLI output of the whole test run, scanned for every secret the tests configured or minted.
///
/// Runs from scripts/test after all other suites (`swift test --filter SecretsAudit`), which recorded into the
/// fresh `$GATEWAY_AGENT_TEST_TRANSCRIPTS`; without that variable there is nothing of a whole run to audit.
@Suite("SecretsAudit")
struct SecretsAudit {
    @Test(
        "no token, secret access key, session token, password or private key in any agent log or CLI output",
        .enabled(if: TestTranscripts.directory != nil, "run by scripts/test, after every other suite"))
    func noSecretInTranscripts() throws {
        let directory = try #require(TestTranscripts.directory)
        let report = SecretScanner.audit(directory: directory)
        let problems = SecretScanner.problems(report)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        print(
            "secrets audit: \(report.transcripts) transcripts (\(report.transcriptBytes) bytes), "
                + "\(report.secrets) secrets, \(report.findings.count) findings")
    }
}
