import CloudCredentials
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

/// The refresher driving the organization source against the fake endpoint, in real (short) time.
@Suite("Credential refresher")
struct CredentialRefresherTests {
    /// Sessions passed to `onChange`, in order.
    final class Changes: Sendable {
        private let sessions = Mutex<[CloudSession]>([])
        func append(_ session: CloudSession) { sessions.withLock { $0.append(session) } }
        var keys: [String] { sessions.withLock { $0.map(\.credentials.accessKeyID) } }
    }

    struct Harness {
        let fixture: OrganizationFixture
        let log = CapturedLog()
        let changes = Changes()
        let refresher: CredentialRefresher

        init(
            _ label: String, _ responses: [FakeOrganizationEndpoint.Response], timing: RefreshTiming,
            requestTimeout: Duration = .seconds(3)
        ) throws {
            fixture = try OrganizationFixture(label, responses)
            let changes = self.changes
            refresher = CredentialRefresher(
                source: fixture.source(requestTimeout: requestTimeout), timing: timing, logger: log.logger,
                onChange: { changes.append($0) })
        }

        /// Runs the refresher's loop until the endpoint saw its first request and then for `window` more, then
        /// cancels it and waits for it to end. Anchoring on the first request keeps a slow start (a busy machine)
        /// out of the measurement.
        func run(window: Duration) async {
            let loop = Task { await refresher.run() }
            #expect(await waitForRequests(fixture.requests.count + 1), "the loop made no request")
            try? await Task.sleep(for: window)
            loop.cancel()
            await loop.value
        }

        /// Waits until the endpoint has seen `count` requests; false when it has not within `timeout`.
        func waitForRequests(_ count: Int, timeout: Duration = .seconds(20)) async -> Bool {
            let deadline = ContinuousClock.now + timeout
            while fixture.requests.count < count {
                guard ContinuousClock.now < deadline else { return false }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return true
        }

        /// No log line and no error carries the token or a secret the endpoint handed out.
        func expectNoSecretsLogged() {
            for entry in log.lines {
                for secret in [secretToken, "fake-secret", "fake-session-token"] {
                    #expect(!entry.everything.contains(secret), "\(entry.everything)")
                }
            }
        }

        /// Seconds between consecutive requests.
        var gaps: [Double] {
            let times = fixture.requests.map(\.time)
            return zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }
        }
    }

    static func fast(
        refreshBefore: Double = 300, minimumValidity: Double = 60, retryMinimum: Double = 0.1,
        retryMaximum: Double = 0.5
    ) -> RefreshTiming {
        RefreshTiming(
            refreshBefore: .milliseconds(Int64(refreshBefore * 1000)),
            minimumValidity: .milliseconds(Int64(minimumValidity * 1000)),
            retryMinimum: .milliseconds(Int64(retryMinimum * 1000)),
            retryMaximum: .milliseconds(Int64(retryMaximum * 1000)))
    }

    @Test("the loop refreshes ahead of expiry, so each new session arrives before the previous one expires")
    func refreshesAheadOfExpiry() async throws {
        let harness = try Harness(
            "ahead", [.credentials(lifetime: 6)], timing: Self.fast(refreshBefore: 4, minimumValidity: 1))
        await harness.run(window: .seconds(7))
        // Obtained at 0 s (expires at 6 s), refreshed at about 3 s (half the lifetime: 6 - 4 = 2 s is sooner):
        // never early, and always before the held credentials expire. The 3 s between the two bounds absorb a
        // busy CI machine, which has delayed a refresh by 1.4 s.
        let gaps = harness.gaps
        #expect((2...4).contains(harness.fixture.requests.count), "\(gaps)")
        #expect(gaps.allSatisfy { (2.9..<6).contains($0) }, "\(gaps)")
        #expect(harness.changes.keys.count == harness.fixture.requests.count)
        #expect(harness.changes.keys == harness.changes.keys.sorted())
        #expect(Set(harness.changes.keys).count == harness.changes.keys.count)
        #expect(harness.refresher.session?.credentials.accessKeyID == harness.changes.keys.last)
        #expect(harness.refresher.expiration.map { $0 > Date() } == true)
        #expect(harness.log.lines.contains { $0.level == .info && $0.message == "credentials obtained" })
        harness.expectNoSecretsLogged()
    }

    @Test("refresh_before sets the refresh time when the credentials live long enough")
    func refreshBeforeApplies() {
        let timing = RefreshTiming(refreshBefore: .seconds(300))
        let obtained = Date(timeIntervalSince1970: 1_000_000)
        #expect(
            timing.refreshTime(expiration: obtained.addingTimeInterval(3600), obtained: obtained)
                == obtained.addingTimeInterval(3300))
        // Credentials shorter-lived than refresh_before are refreshed at half their lifetime, not at once.
        #expect(
            timing.refreshTime(expiration: obtained.addingTimeInterval(240), obtained: obtained)
                == obtained.addingTimeInterval(120))
        #expect(
            timing.refreshTime(expiration: obtained.addingTimeInterval(0.2), obtained: obtained)
                == obtained.addingTimeInterval(1))
    }

    @Test("current() hands out the held session, and refreshes first when it expires within minimumValidity")
    func onDemandRefresh() async throws {
        let harness = try Harness(
            "demand", [.credentials(lifetime: 12)], timing: Self.fast(minimumValidity: 6))
        let first = try await harness.refresher.current()
        let again = try await harness.refresher.current()
        #expect(again == first)
        #expect(harness.fixture.requests.count == 1)
        try await sleep(until: try #require(first.expiration).addingTimeInterval(-5.8))
        let refreshed = try await harness.refresher.current()
        #expect(refreshed.credentials.accessKeyID != first.credentials.accessKeyID)
        #expect(harness.fixture.requests.count == 2)
        #expect(harness.changes.keys == [first.credentials.accessKeyID, refreshed.credentials.accessKeyID])
    }

    @Test("credentials living shorter than minimumValidity are not fetched again on every call")
    func shortLivedCredentials() async throws {
        // The reuse window is retryMinimum after obtaining them; 30 s keeps a busy CI machine's stalls inside it.
        let harness = try Harness(
            "short", [.credentials(lifetime: 20)],
            timing: RefreshTiming(minimumValidity: .seconds(60), retryMinimum: .seconds(30)))
        for _ in 0..<5 { _ = try await harness.refresher.current() }
        #expect(harness.fixture.requests.count == 1)
    }

    @Test("a failed refresh keeps the previous credentials in use while they are valid, then reports the error")
    func keepsPreviousOnFailure() async throws {
        let harness = try Harness(
            "keep", [.credentials(lifetime: 12), .reply(status: 500, body: json(["error": "Internal"]))],
            timing: Self.fast(minimumValidity: 7, retryMinimum: 0.1, retryMaximum: 0.2))
        let first = try await harness.refresher.current()
        try await sleep(until: try #require(first.expiration).addingTimeInterval(-6.8))
        let kept = try await harness.refresher.current()
        #expect(kept == first)
        #expect(harness.fixture.requests.count == 2)
        #expect(harness.refresher.lastError?.status == 500)
        #expect(harness.refresher.expiration == first.expiration)
        let warning = try #require(harness.log.lines.first { $0.level == .warning })
        #expect(warning.message.contains("The current credentials stay in use until"))
        try await sleep(until: try #require(first.expiration).addingTimeInterval(0.3))
        await #expect(throws: CredentialError.self) { try await harness.refresher.current() }
        #expect(harness.refresher.session == first)
        harness.expectNoSecretsLogged()
    }

    @Test("while an endpoint fails, attempts back off and never come in a tight loop")
    func backoff() async throws {
        let harness = try Harness(
            "backoff", [.reply(status: 503, body: "down")], timing: Self.fast(retryMinimum: 0.1, retryMaximum: 0.8))
        await harness.run(window: .seconds(3))
        let count = harness.fixture.requests.count
        // Full jitter over 0.1, 0.2, 0.4, 0.8, 0.8… (at least 0.1 s each): about 8 attempts in 3 s, never 30.
        #expect((3...20).contains(count), "\(harness.gaps)")
        #expect(harness.gaps.allSatisfy { $0 >= 0.09 }, "\(harness.gaps)")
        #expect(harness.refresher.session == nil)
        #expect(harness.refresher.lastError?.kind == .unavailable)
        // One warning for the first failed attempt; each repeat is a debug line (the last request may have been cut
        // short by the end of the test).
        #expect(harness.log.lines.filter { $0.level == .warning }.count == 1)
        let repeats = harness.log.lines.filter { $0.level == .debug && $0.metadata["repeat"] == "true" }.count
        #expect((count - 2...count - 1).contains(repeats))
    }

    @Test("a permanent error is retried at the slowest pace and logged once")
    func permanentErrors() async throws {
        let body = json(["error": "Unauthenticated", "message": "bad token \(secretToken)"])
        let harness = try Harness(
            "permanent", [.reply(status: 401, body: body)], timing: Self.fast(retryMinimum: 0.05, retryMaximum: 0.8))
        await harness.run(window: .milliseconds(2500))
        let count = harness.fixture.requests.count
        // Every wait is 0.4…0.8 s although the minimum is 0.05 s.
        #expect((2...7).contains(count), "\(harness.gaps)")
        #expect(harness.gaps.allSatisfy { $0 >= 0.38 }, "\(harness.gaps)")
        let errors = harness.log.lines.filter { $0.level == .error }
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("token rejected") == true)
        let repeats = harness.log.lines.filter { $0.level == .debug && $0.metadata["repeat"] == "true" }.count
        #expect((count - 2...count - 1).contains(repeats))
        harness.expectNoSecretsLogged()
    }

    @Test("repeated failures are counted; the fetch that succeeds writes their count before 'credentials obtained'")
    func repeatsSummarisedOnRecovery() async throws {
        let down = FakeOrganizationEndpoint.Response.reply(status: 503, body: "down")
        let harness = try Harness(
            "summarised", [down, down, down, .credentials()], timing: Self.fast(retryMinimum: 0.05, retryMaximum: 0.1))
        let loop = Task { await harness.refresher.run() }
        #expect(await eventually(timeout: .seconds(30)) { harness.changes.keys.count == 1 })
        loop.cancel()
        await loop.value
        let lines = harness.log.lines.filter { $0.level >= .info }
        #expect(lines.count == 3, "\(lines.map(\.message))")
        #expect(lines.first?.message.hasPrefix("credential refresh failed: organization endpoint") == true)
        let summary = lines.dropFirst().first
        #expect(summary?.level == .warning)
        #expect(summary?.message.hasPrefix("credential refresh failed: repeated 2 times in the last ") == true)
        #expect(summary?.metadata["error"]?.contains("HTTP 503") == true, "\(String(describing: summary))")
        #expect(lines.last?.message == "credentials obtained after 3 failed attempts")
    }

    @Test("a refusal that keeps coming back is logged once, and so are the fetches it causes")
    func repeatedRefusalsQuiet() async throws {
        let harness = try Harness("refused-again", [.credentials()], timing: Self.fast())
        for _ in 0..<5 {
            harness.refresher.invalidate(try await harness.refresher.current())
        }
        _ = try await harness.refresher.current()
        #expect(harness.fixture.requests.count == 6)
        let info = harness.log.lines.filter { $0.level == .info }.map(\.message)
        #expect(info.filter { $0.hasPrefix("credentials marked as refused") }.count == 1, "\(info)")
        #expect(info.filter { $0.hasPrefix("credentials obtained") }.count == 2, "the first, and the one after the first refusal: \(info)")
    }

    @Test("Retry-After is honoured by the loop and by current()")
    func retryAfter() async throws {
        let harness = try Harness(
            "retry-after",
            [.reply(status: 503, body: "busy", headers: ["Retry-After": "2"]), .credentials()],
            timing: Self.fast(retryMinimum: 0.05, retryMaximum: 0.1))
        await #expect(throws: CredentialError.self) { try await harness.refresher.current() }
        // Asking again during the wait answers with the same error without another request.
        let error = await #expect(throws: CredentialError.self) { try await harness.refresher.current() }
        #expect(error?.retryAfter == .seconds(2))
        #expect(harness.fixture.requests.count == 1)
        let loop = Task { await harness.refresher.run() }
        #expect(await harness.waitForRequests(2))
        #expect(await eventually { harness.refresher.session != nil })
        loop.cancel()
        await loop.value
        let gaps = harness.gaps
        #expect(gaps.count == 1)
        #expect(gaps.allSatisfy { $0 >= 1.95 }, "\(gaps)")
        #expect(harness.refresher.session != nil)
        #expect(harness.log.lines.contains { $0.message == "credentials obtained after 1 failed attempt" })
    }

    @Test("invalidate() makes the next current() fetch new credentials; a stale refusal changes nothing")
    func invalidate() async throws {
        let harness = try Harness("invalidate", [.credentials()], timing: Self.fast())
        let first = try await harness.refresher.current()
        harness.refresher.invalidate()
        let second = try await harness.refresher.current()
        #expect(second.credentials.accessKeyID != first.credentials.accessKeyID)
        harness.refresher.invalidate(first)
        let third = try await harness.refresher.current()
        #expect(third == second)
        #expect(harness.fixture.requests.count == 2)
    }

    @Test("invalidate() wakes the loop, which fetches at once")
    func invalidateWakesLoop() async throws {
        let harness = try Harness("wake", [.credentials()], timing: Self.fast())
        let loop = Task { await harness.refresher.run() }
        #expect(await harness.waitForRequests(1))
        #expect(await eventually { harness.changes.keys.count == 1 })
        harness.refresher.invalidate()
        #expect(await harness.waitForRequests(2))
        #expect(await eventually { harness.changes.keys.count == 2 })
        loop.cancel()
        await loop.value
        #expect(harness.fixture.requests.count == 2)
        #expect(harness.changes.keys.count == 2)
    }

    @Test("concurrent callers share one fetch")
    func sharedFetch() async throws {
        let harness = try Harness("shared", [.slow(delay: 0.5, then: .credentials())], timing: Self.fast())
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask { try await harness.refresher.current().credentials.accessKeyID }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(keys.count == 1)
        #expect(harness.fixture.requests.count == 1)
    }

    @Test("cancelling the loop ends it promptly, even during a hanging request")
    func cancellation() async throws {
        // The hanging request would only end at its 60 s timeout; cancelling must not wait for it. The 10 s bound
        // leaves room for a busy CI machine.
        let harness = try Harness("cancel", [.hang], timing: Self.fast(), requestTimeout: .seconds(60))
        let loop = Task { await harness.refresher.run() }
        #expect(await harness.waitForRequests(1), "the loop made no request")
        let started = ContinuousClock.now
        loop.cancel()
        await loop.value
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("retry delays stay within their bounds and grow with failures")
    func retryDelays() {
        let timing = RefreshTiming(retryMinimum: .seconds(1), retryMaximum: .seconds(300))
        var random = SystemRandomNumberGenerator()
        let transient = CredentialError(.unavailable, message: "down")
        let permanent = CredentialError(.rejected, message: "no")
        for failures in 1...30 {
            let ceiling = min(300, 1 << min(failures - 1, 20))
            for _ in 0..<50 {
                let delay = timing.retryDelay(failures: failures, error: transient, using: &random)
                #expect(delay >= .seconds(1) && delay <= .seconds(ceiling))
                let slow = timing.retryDelay(failures: failures, error: permanent, using: &random)
                #expect(slow >= .seconds(150) && slow <= .seconds(300))
            }
        }
        let told = CredentialError(.unavailable, message: "busy", retryAfter: .seconds(40))
        #expect(timing.retryDelay(failures: 1, error: told, using: &random) == .seconds(40))
        let tooLong = CredentialError(.unavailable, message: "busy", retryAfter: .seconds(86_400))
        #expect(timing.retryDelay(failures: 1, error: tooLong, using: &random) == .seconds(900))
    }
}

/// Sleeps until the wall clock reaches `date` (at once if it has).
func sleep(until date: Date) async throws {
    let seconds = date.timeIntervalSinceNow
    if seconds > 0 { try await Task.sleep(for: .milliseconds(Int64(seconds * 1000))) }
}

/// Polls `condition` every 20 ms; false when it did not hold within `timeout`.
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return true
}
