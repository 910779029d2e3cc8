import AgentLogging
import FoundationEssentials
import GatewayCore
import Logging
import Synchronization

/// Holds the agent's current cloud session and keeps it fresh.
///
/// `run()` refreshes `refreshBefore` ahead of expiry; `current()` hands out the held session, refreshing first
/// when it is about to expire. A failed refresh keeps the previous session in use while it is valid and is
/// retried with exponential backoff and full jitter (honouring `Retry-After`); permanent errors (a rejected
/// token, a bad setting) are retried at the slowest pace. A failure that repeats is logged once, then summarised
/// once per `logRepeatInterval` (``RepeatedFailureLog``). Concurrent requests for a refresh share one fetch.
/// Every wait is cancellable.
public final class CredentialRefresher: Sendable {
    /// The one fetch in progress, shared by everyone waiting for it.
    private typealias Fetch = Task<Result<CloudSession, CredentialError>, Never>

    private struct State {
        var session: CloudSession?
        var obtained: Date?
        /// When the session was obtained, by the monotonic clock.
        var obtainedInstant: ContinuousClock.Instant?
        var invalidated = false
        var fetch: Fetch?
        var failures = 0
        var lastError: CredentialError?
        var retryNotBefore: ContinuousClock.Instant?
        /// The last refusal was a repeat not logged at info, so neither is the fetch it causes.
        var quietRefetch = false
    }

    /// What happened to one fetch, decided under the lock and logged outside it.
    private enum Outcome {
        case obtained(CloudSession, afterFailures: Int, quietly: Bool)
        case failed(CredentialError, attempt: Int, retryIn: Duration, held: CloudSession?)
        case cancelled
    }

    private let source: any CredentialSource
    private let timing: RefreshTiming
    private let logger: Logger
    private let failures: RepeatedFailureLog
    private let onChange: @Sendable (CloudSession) -> Void
    private let now: @Sendable () -> Date
    private let state = Mutex(State())
    private let wake = WakeSignal()

    /// The longest the loop sleeps before looking again, so a wall-clock jump cannot delay a refresh for long.
    static let longestSleep = Duration.seconds(60)

    /// A refresher for `source`.
    ///
    /// - Parameters:
    ///   - logger: receives one line per refresh and per new failure, summaries of repeats; never a secret.
    ///   - logRepeatInterval: at most one summary line per repeating failure in this time.
    ///   - onChange: called with every newly obtained session, outside any lock.
    ///   - now: the wall clock compared with credential expiry.
    public init(
        source: any CredentialSource, timing: RefreshTiming = RefreshTiming(), logger: Logger,
        logRepeatInterval: Duration = RepeatedFailureLog.defaultInterval,
        onChange: @escaping @Sendable (CloudSession) -> Void = { _ in },
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.source = source
        self.timing = timing
        self.logger = logger
        self.failures = RepeatedFailureLog(logger: logger, interval: logRepeatInterval)
        self.onChange = onChange
        self.now = now
    }

    /// The held session, if any (possibly expired or invalidated).
    public var session: CloudSession? { state.withLock { $0.session } }

    /// When the held credentials expire, for `status`; nil when none are held or they never expire.
    public var expiration: Date? { state.withLock { $0.session?.expiration } }

    /// The error of the last fetch when it failed; nil once a fetch succeeded.
    public var lastError: CredentialError? { state.withLock { $0.lastError } }

    /// A session valid for at least `minimumValidity`, refreshed first when needed.
    ///
    /// When the refresh fails but the held credentials have not yet expired (and were not invalidated), they are
    /// returned. While a failed refresh waits for its retry time, the last error is thrown without asking again.
    public func current() async throws(CredentialError) -> CloudSession {
        enum Step {
            case use(CloudSession)
            case fail(CredentialError)
            case wait(Fetch)
        }
        let now = self.now()
        let step = state.withLock { state -> Step in
            if let session = state.session, !state.invalidated {
                if Self.isValid(session, at: now.addingTimeInterval(timing.minimumValidity.secondsDouble)) {
                    return .use(session)
                }
                // Credentials that live shorter than minimumValidity must not make every call fetch again.
                if let obtained = state.obtainedInstant, ContinuousClock.now - obtained < timing.retryMinimum,
                    Self.isValid(session, at: now)
                {
                    return .use(session)
                }
            }
            if let fetch = state.fetch { return .wait(fetch) }
            if let notBefore = state.retryNotBefore, ContinuousClock.now < notBefore, let error = state.lastError {
                if let session = state.session, !state.invalidated, Self.isValid(session, at: now) {
                    return .use(session)
                }
                return .fail(error)
            }
            return .wait(startFetch(&state))
        }
        switch step {
        case .use(let session):
            return session
        case .fail(let error):
            throw error
        case .wait(let fetch):
            switch await Self.result(of: fetch) {
            case .success(let session):
                return session
            case .failure(let error):
                let now = self.now()
                let held = state.withLock { state in state.invalidated ? nil : state.session }
                if let held, Self.isValid(held, at: now) { return held }
                throw error
            }
        }
    }

    /// Refreshes ahead of expiry until the task is cancelled. Call it once, from a long-lived task.
    public func run() async {
        while !Task.isCancelled {
            let now = self.now()
            let next = state.withLock { state -> (fetch: Fetch?, wait: Duration) in
                if let fetch = state.fetch { return (fetch, .zero) }
                let wait = delayBeforeNextFetch(state, now: now)
                return wait > .zero ? (nil, wait) : (startFetch(&state), .zero)
            }
            if let fetch = next.fetch {
                _ = await Self.result(of: fetch)
            } else {
                await wake.wait(upTo: min(next.wait, Self.longestSleep))
            }
        }
    }

    /// Marks the held credentials as refused (e.g. a WebSocket handshake answered 403): the next `current()` and
    /// the refresh loop fetch new ones. With `rejected`, only when that is still the session held, so a refusal of
    /// credentials already replaced changes nothing.
    public func invalidate(_ rejected: CloudSession? = nil) {
        let changed = state.withLock { state in
            guard let held = state.session else { return false }
            if let rejected, rejected.credentials.accessKeyID != held.credentials.accessKeyID { return false }
            state.invalidated = true
            return true
        }
        guard changed else { return }
        // A refusal that keeps coming back (a revoked permission, a wrong clock) repeats with every attempt.
        let logged = failures.failed("credentials marked as refused; fetching new ones", level: .info)
        state.withLock { $0.quietRefetch = !logged }
        wake.signal()
    }

    /// How long the loop waits before fetching; zero or less means now.
    private func delayBeforeNextFetch(_ state: State, now: Date) -> Duration {
        var wait: Duration
        if let session = state.session, !state.invalidated {
            guard let expiration = session.expiration else { return Self.longestSleep }
            let due = timing.refreshTime(expiration: expiration, obtained: state.obtained ?? now)
            wait = .milliseconds(Int64((due.timeIntervalSince(now) * 1000).rounded(.up)))
        } else {
            wait = .zero
        }
        if let notBefore = state.retryNotBefore {
            wait = max(wait, notBefore - ContinuousClock.now)
        }
        return wait
    }

    /// Starts the one shared fetch; the caller holds the lock.
    private func startFetch(_ state: inout State) -> Fetch {
        let fetch = Task { await self.fetchAndRecord() }
        state.fetch = fetch
        return fetch
    }

    private func fetchAndRecord() async -> Result<CloudSession, CredentialError> {
        let result: Result<CloudSession, CredentialError>
        do {
            result = .success(try await source.fetch())
        } catch {
            result = .failure(error)
        }
        let now = self.now()
        let outcome = state.withLock { state -> Outcome in
            state.fetch = nil
            switch result {
            case .success(let session):
                defer {
                    state.session = session
                    state.obtained = now
                    state.obtainedInstant = ContinuousClock.now
                    state.invalidated = false
                    state.failures = 0
                    state.lastError = nil
                    state.retryNotBefore = nil
                    state.quietRefetch = false
                }
                return .obtained(session, afterFailures: state.failures, quietly: state.quietRefetch)
            case .failure(let error) where error.kind == .cancelled:
                return .cancelled
            case .failure(let error):
                state.failures += 1
                state.lastError = error
                var random = SystemRandomNumberGenerator()
                let delay = timing.retryDelay(failures: state.failures, error: error, using: &random)
                state.retryNotBefore = ContinuousClock.now + delay
                let held = state.session.flatMap { Self.isValid($0, at: now) && !state.invalidated ? $0 : nil }
                return .failed(error, attempt: state.failures, retryIn: delay, held: held)
            }
        }
        log(outcome)
        if case .obtained(let session, _, _) = outcome { onChange(session) }
        wake.signal()
        return result
    }

    private func log(_ outcome: Outcome) {
        switch outcome {
        case .obtained(let session, let failures, let quietly):
            self.failures.cleared(Self.refreshFailed)
            var metadata: Logger.Metadata = [
                "region": "\(session.region)", "accessKeyID": "\(session.credentials.redactedAccessKeyID)",
                "expiration": "\(session.expiration.map(isoText) ?? "never")",
            ]
            if let endpoint = session.iotEndpoint { metadata["iotEndpoint"] = "\(endpoint)" }
            let recovered = failures > 0 ? " after \(failures) failed attempt\(failures == 1 ? "" : "s")" : ""
            logger.log(level: quietly ? .debug : .info, "credentials obtained\(recovered)", metadata: metadata)
        case .failed(let error, let attempt, let retryIn, let held):
            let keeping =
                held.map { " The current credentials stay in use until \($0.expiration.map(isoText) ?? "revoked")." }
                ?? ""
            let retrying = error.isPermanent ? "Retrying every few minutes until fixed" : "Retrying in \(retryIn.briefText)"
            failures.failed(
                Self.refreshFailed, cause: error.message, level: error.isPermanent ? .error : .warning,
                message: "\(Self.refreshFailed): \(error.message). \(retrying).\(keeping)",
                metadata: ["attempt": "\(attempt)", "retryIn": "\(retryIn.briefText)"])
        case .cancelled:
            logger.debug("credential refresh cancelled")
        }
    }

    private static let refreshFailed = "credential refresh failed"

    /// Waits for a shared fetch; cancelling the waiter cancels the fetch (only shutdown does that).
    private static func result(
        of fetch: Fetch
    ) async -> Result<CloudSession, CredentialError> {
        await withTaskCancellationHandler {
            await fetch.value
        } onCancel: {
            fetch.cancel()
        }
    }

    private static func isValid(_ session: CloudSession, at date: Date) -> Bool {
        session.expiration.map { $0 > date } ?? true
    }
}
