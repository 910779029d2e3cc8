import CloudCredentials
import Foundation
import HTTPClient
import TestSupport

/// moto's STS and IAM, served over TLS by `Tests/Fixtures/sts_moto_tls.py`, with signatures, IAM policies and the
/// role's trust policy (external ID condition) enforced. One per test process: moto takes seconds to start.
final class LocalSTS: @unchecked Sendable {
    /// What the fixture created: keys of a user allowed to assume the role, keys of one that is not, the role.
    struct Setup: Decodable {
        let accessKeyId: String
        let secretAccessKey: String
        let strangerAccessKeyId: String
        let strangerSecretAccessKey: String
        let roleArn: String
        let externalId: String
    }

    /// An AssumeRole call moto accepted.
    struct AssumedRole: Decodable {
        let roleArn: String
        let sessionName: String
        let externalId: String?
        let durationSeconds: Int
    }

    /// Started on first use, on a thread of its own: moto takes seconds to come up, and tests waiting for it must
    /// not hold the threads the other tests run on.
    static let shared = Task { try await onOwnThread { try LocalSTS() } }

    let endpoint: String
    let caFile: String
    let setup: Setup
    private let process: ChildProcess

    init() throws(ChildProcessError) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sts_moto_tls.py").path
        let certificates: HTTPSTestCertificates
        let directory: TempDirectory
        do {
            certificates = try HTTPSTestCertificates.shared.get()
            directory = try TempDirectory.removedAtExit(prefix: "local-sts")
        } catch {
            throw ChildProcessError("cannot prepare the local STS: \(error)")
        }
        let info = directory.path("setup.json")
        // stdin is a pipe: the fixture exits when this process does.
        process = try ChildProcess(
            executable: TestExecutables.python3,
            arguments: [
                script, certificates.serverCertificate, certificates.serverKey, certificates.caFile, info,
            ],
            stdout: .capture, stderr: .discard, stdinPipe: true)
        guard let line = try process.readLine(timeout: .seconds(90)), line.hasPrefix("PORT "),
            let port = Int(line.dropFirst(5))
        else {
            throw ChildProcessError(
                "sts_moto_tls.py did not report a port (is moto installed? pip install 'moto[server]')")
        }
        do {
            setup = try JSONDecoder().decode(Setup.self, from: Data(contentsOf: URL(fileURLWithPath: info)))
        } catch {
            throw ChildProcessError("cannot read \(info): \(error)")
        }
        endpoint = "https://127.0.0.1:\(port)"
        caFile = certificates.caFile
        TestTranscripts.registerSecret(setup.secretAccessKey, kind: "secret access key")
        TestTranscripts.registerSecret(setup.strangerSecretAccessKey, kind: "secret access key")
    }

    /// Registers what moto handed out with the secrets audit, and returns it.
    @discardableResult
    static func minted(_ session: CloudSession) -> CloudSession {
        TestTranscripts.registerSecret(session.credentials.secretAccessKey, kind: "secret access key")
        if let token = session.credentials.sessionToken { TestTranscripts.registerSecret(token, kind: "session token") }
        return session
    }

    /// The AssumeRole calls moto accepted so far.
    func assumedRoles() async throws -> [AssumedRole] {
        let response = try await perform(
            HTTPRequest(url: endpoint + "/fixture/assumed-roles"), options: HTTPClientOptions(caFile: caFile, proxy: "")
        )
        return try JSONDecoder().decode([AssumedRole].self, from: Data(response.body))
    }
}
