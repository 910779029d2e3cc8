import CloudCredentials
import Foundation
import Synchronization
import TestSupport
import Testing

@Suite("Static credential source")
struct StaticSourceTests {
    @Test("fixed keys become a session for the configured region, read afresh on every fetch")
    func readsAfresh() async throws {
        let reads = Atomic<Int>(0)
        let source = StaticCredentialSource(region: "eu-central-1") {
            let count = reads.add(1, ordering: .relaxed).newValue
            return AWSCredentials(accessKeyID: "AKIASTATIC\(count)", secretAccessKey: "static-secret")
        }
        let first = try await source.fetch()
        #expect(first.region == "eu-central-1")
        #expect(first.iotEndpoint == nil)
        #expect(first.expiration == nil)
        #expect(first.credentials.accessKeyID == "AKIASTATIC1")
        #expect(try await source.fetch().credentials.accessKeyID == "AKIASTATIC2")
    }

    @Test("a session token is optional and passed through")
    func sessionToken() async throws {
        let source = StaticCredentialSource(region: "us-east-1") {
            AWSCredentials(accessKeyID: "ASIASTATIC", secretAccessKey: "s", sessionToken: "token//+=")
        }
        #expect(try await source.fetch().credentials.sessionToken == "token//+=")
    }

    @Test("unreadable files, empty keys and a bad region are refused, never quoting a key")
    func refusals() async throws {
        struct Missing: Error, CustomStringConvertible {
            var description: String { "credentials.static.secret_access_key_file: secret file /k does not exist" }
        }
        let unreadable = StaticCredentialSource(region: "eu-west-1") { throw Missing() }
        let error = await #expect(throws: CredentialError.self) { try await unreadable.fetch() }
        #expect(error?.kind == .unreadableSecret)
        #expect(error?.message.contains("secret file /k does not exist") == true)

        let spaced = StaticCredentialSource(region: "eu-west-1") {
            AWSCredentials(accessKeyID: "AKIA", secretAccessKey: "with space SECRETVALUE")
        }
        let spacedError = await #expect(throws: CredentialError.self) { try await spaced.fetch() }
        #expect(spacedError?.message.contains("credentials.static.secret_access_key_file") == true)
        #expect(spacedError?.message.contains("SECRETVALUE") == false)

        let region = StaticCredentialSource(region: "") { AWSCredentials(accessKeyID: "A", secretAccessKey: "B") }
        let regionError = await #expect(throws: CredentialError.self) { try await region.fetch() }
        #expect(regionError?.kind == .invalidSettings)
        #expect(regionError?.message.contains("credentials.static.region") == true)
    }

    @Test("the refresher never refetches credentials without expiry until they are refused")
    func refresherIdles() async throws {
        let reads = Atomic<Int>(0)
        let source = StaticCredentialSource(region: "eu-west-1") {
            reads.add(1, ordering: .relaxed)
            return AWSCredentials(accessKeyID: "AKIASTATIC", secretAccessKey: "s")
        }
        let refresher = CredentialRefresher(source: source, logger: CapturedLog().logger)
        let loop = Task { await refresher.run() }
        try await Task.sleep(for: .milliseconds(300))
        _ = try await refresher.current()
        #expect(reads.load(ordering: .relaxed) == 1)
        #expect(refresher.expiration == nil)
        refresher.invalidate()
        // Soon, not within a fixed 300 ms: on a busy machine the loop's task may wait for a thread.
        let deadline = ContinuousClock.now + .seconds(5)
        while reads.load(ordering: .relaxed) < 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(reads.load(ordering: .relaxed) == 2)
        loop.cancel()
        await loop.value
    }
}
