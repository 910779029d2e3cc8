import AgentLogging
import ControlProtocol
import FoundationEssentials
import GatewayCore
import IdentityStore
import Logging
import Metrics
import Synchronization

/// The one writer to the store and the one user of the live connection's publish side.
///
/// It runs on its own thread and takes every input from one FIFO inbox: control commands,
/// MQTT events, connection changes. Each turn of its loop: take all inputs, commit accepted
/// requests in one transaction (group commit), apply acks and timeouts in one transaction,
/// then send what the scheduler, the in-flight window and the rate limit allow.
final class Engine: @unchecked Sendable {
    struct Settings {
        var moduleID: ModuleID
        var scheduler: Scheduler.Settings
        var maxPublishRate: Double
        var defaultAck: AckMode
        var limits: OutboxLimits
        /// Keep `latestStatus` fresh (at most a second old) for the metrics.
        var publishesStatus = false
        var transport: String
        var credentialSource: String
        var version: String
        /// Called every turn: the systemd watchdog ping.
        var heartbeat: @Sendable () -> Void = {}
        /// The loop turns at least this often, even when idle (half the watchdog ping interval).
        var maxSleep: Duration = .seconds(1)
        /// Called when the connection state changes: systemd STATUS=.
        var statusChanged: @Sendable (String) -> Void = { _ in }
        /// `agent.log_repeat_interval`: resends and store failures repeat per request.
        var logRepeatInterval = RepeatedFailureLog.defaultInterval
    }

    let inbox = EngineInbox()
    /// The latest `status`, for readers that must never wait for the engine (the metrics).
    let latestStatus = Mutex<StatusSnapshot?>(nil)
    /// Ack latency buckets, seconds.
    static let ackLatencyBounds: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

    // Everything below is used on the engine thread only.
    private let settings: Settings
    private let store: IdentityStore
    private let logger: Logger
    private let repeats: RepeatedFailureLog
    private let intake: RequestIntake
    private let ackParser: AckParser
    private var scheduler: Scheduler
    private var index: IdentityIndex
    private var limiter: PublishRateLimiter
    private var publisher: (any RequestPublisher)?
    private var messageIDs: [Int32: String] = [:]
    private var waiters: [String: [Waiter]] = [:]
    private var connection = ConnectionState.disconnected
    private var endpoint = ""
    private var lastError: String?
    private var credentialsExpireAt: Date?
    private var unknownAcks = 0
    private var malformedAcks = 0
    private let startedAt = ContinuousClock.now
    private var rateLimited = false
    /// The last drop repeated one already logged: the reconnect after it is logged at debug only.
    private var reconnectIsRepeat = false
    /// Successful connections since start; every one after the first is a reconnect.
    private var connections = 0
    /// Commands refused because the outbox was full, since start; and as of the last log line about it.
    private var refusedFull = 0
    private var refusedFullLogged = 0
    private var lastRefusalLogged: ContinuousClock.Instant?
    private var ackLatency = Histogram(bounds: Engine.ackLatencyBounds)
    /// Requests admitted this turn, not yet committed (they count toward `identity.max_queue`).
    private var admittedThisTurn = 0
    private var nextAgeCheck = ContinuousClock.now
    private var memory = MemoryRelease()
    private var nextStatusPublish = ContinuousClock.now
    /// The last attempt to record sends failed: the requests are held until one succeeds.
    private var sendsHeld = false
    private static let cannotRecordSends = "cannot record sends, holding them"
    /// identities.d as last declared, while some of it waits for room in the outbox, and how many places it needs.
    private var declaredWaiting: (declared: DeclaredIdentities, needed: Int)?

    /// `status` as last computed, with the credentials' expiry as a date (the status holds it as text).
    struct StatusSnapshot: Sendable {
        var status: StatusView
        var credentialsExpireAt: Date?
    }

    private struct Waiter {
        var channel: ResponseChannel
        var requestID: String
        var deadline: ContinuousClock.Instant
    }

    /// A command whose requests are waiting for the group commit.
    private struct Intake {
        var requestID: String
        var channel: ResponseChannel?
        var wait: Bool
        var timeout: Duration
        var requests: [IdentityRequest]
        /// `file:<name>` for identities.d, nil for the control socket.
        var origin: String? = nil
    }

    init(store: IdentityStore, settings: Settings, validator: RequestValidator, logger: Logger) throws {
        self.store = store
        self.settings = settings
        self.logger = logger
        repeats = RepeatedFailureLog(logger: logger, interval: settings.logRepeatInterval)
        intake = RequestIntake(validator: validator, defaultAck: settings.defaultAck)
        ackParser = AckParser(moduleID: settings.moduleID)
        scheduler = Scheduler(settings: settings.scheduler)
        limiter = PublishRateLimiter(perSecond: settings.maxPublishRate)
        index = IdentityIndex(try store.identities())
        for request in try store.pendingRequests() { scheduler.enqueue(request) }
    }

    /// The MQTT topic filter for this module's acks.
    var ackSubscription: String { ackParser.subscription }

    /// How many requests were waiting when the store was opened.
    var backlog: Int { scheduler.pendingCount }

    func start() {
        startThread(name: "engine") { self.run() }
    }

    // MARK: - The loop

    private func run() {
        while true {
            let inputs = inbox.takeAll(waitingAtMost: nextWakeup())
            var accepted: [Intake] = []
            var stopDone: (@Sendable () -> Void)?
            var changes = ChangeSet()
            admittedThisTurn = 0
            if let waiting = declaredWaiting, settings.limits.refusal(pending: scheduler.pendingCount, needed: waiting.needed) == nil {
                accepted += reconcile(waiting.declared)
            }

            for input in inputs {
                switch input {
                case .command(let request, let peer, let channel):
                    if let intake = handle(request, peer: peer, channel: channel) { accepted.append(intake) }
                case .declared(let declared):
                    accepted += reconcile(declared)
                case .connectionState(let state, let endpoint, let error):
                    setConnection(state, endpoint: endpoint, error: error)
                case .connected(let publisher, let endpoint, let note):
                    self.publisher = publisher
                    messageIDs.removeAll()
                    connections += 1
                    setConnection(.connected, endpoint: endpoint, error: nil)
                    // After a drop that was only counted (a connection that keeps being dropped), no news either.
                    logger.log(
                        level: reconnectIsRepeat ? .debug : .info,
                        "connected", metadata: ["endpoint": "\(endpoint)", "backlog": "\(scheduler.pendingCount)", "session": "\(note)"])
                case .disconnected(let reason):
                    // Logged even when a failed publish already dropped the publisher.
                    if connection == .connected {
                        reconnectIsRepeat = !repeats.failed(
                            "disconnected", endpoint: endpoint, cause: reason,
                            metadata: ["reason": "\(reason)", "unacknowledged": "\(scheduler.inFlight.count)"])
                    }
                    publisher = nil
                    messageIDs.removeAll()
                    scheduler.connectionLost()
                    setConnection(.disconnected, endpoint: endpoint, error: reason)
                case .published(let messageID):
                    if let correlationID = messageIDs.removeValue(forKey: messageID),
                        let request = scheduler.request(correlationID), request.ack == .none
                    {
                        changes.acked(request)
                    }
                case .message(let topic, let payload, let correlationData):
                    handleMessage(topic: topic, payload: payload, correlationData: correlationData, into: &changes)
                case .credentialsExpiry(let date):
                    credentialsExpireAt = date
                case .stop(let done):
                    stopDone = done
                }
            }

            commit(accepted)
            let now = ContinuousClock.now
            let (resend, giveUp) = scheduler.expire(at: now)
            let cutoff = settings.limits.ageCutoff(now: Date())
            for correlationID in resend {
                let request = scheduler.request(correlationID)!
                if let cutoff, request.acceptedAt < cutoff {
                    changes.failed(request, reason: FailureReason.expired, message: settings.limits.expiryMessage)
                    continue
                }
                repeats.failed(
                    "no ack yet, sending again", level: .info,
                    metadata: requestMetadata(request).merging(["waited": "\(scheduler.ackWait(afterAttempt: request.attempts))"]) { a, _ in a })
            }
            for correlationID in giveUp {
                let request = scheduler.request(correlationID)!
                changes.failed(request, reason: FailureReason.noAck, message: "no ack after \(request.attempts) attempts")
            }
            if let cutoff, now >= nextAgeCheck {
                nextAgeCheck = now + .seconds(1)
                for correlationID in scheduler.acceptedBefore(cutoff) {
                    changes.failed(scheduler.request(correlationID)!, reason: FailureReason.expired, message: settings.limits.expiryMessage)
                }
            }
            apply(changes)
            if memory.drained(pending: scheduler.pendingCount) {
                store.releaseMemory()
                MemoryRelease.releaseFreeHeap()
            }
            repeats.flushDue()

            if let done = stopDone {
                finishForShutdown()
                done()
                return
            }
            sendDue(now: ContinuousClock.now)
            answerExpiredWaits(now: ContinuousClock.now)
            if settings.publishesStatus, ContinuousClock.now >= nextStatusPublish { _ = try? publishStatus() }
            settings.heartbeat()
        }
    }

    /// Sleep until the next ack deadline, rate-limit slot or wait deadline; at most `maxSleep`
    /// (the watchdog ping comes from this loop, so a hung loop means no ping).
    private func nextWakeup() -> Duration {
        let now = ContinuousClock.now
        var wake = now + settings.maxSleep
        if let deadline = scheduler.nextDeadline { wake = min(wake, deadline) }
        if rateLimited, let slot = limiter.nextSlot(after: now) { wake = min(wake, slot) }
        for waiters in waiters.values { for waiter in waiters { wake = min(wake, waiter.deadline) } }
        return max(.milliseconds(1), wake - now)
    }

    private func setConnection(_ state: ConnectionState, endpoint: String, error: String?) {
        let changed = state != connection || endpoint != self.endpoint
        connection = state
        self.endpoint = endpoint
        if let error { lastError = error }
        if changed {
            settings.statusChanged(
                "\(state.rawValue) \(endpoint.isEmpty ? "" : "to \(endpoint) ")- queued \(scheduler.pendingCount - scheduler.inFlight.count), in flight \(scheduler.inFlight.count)")
        }
    }

    // MARK: - Commands

    private func handle(_ request: ControlRequest, peer: ControlPeer?, channel: ResponseChannel) -> Intake? {
        func fail(_ error: ControlError) -> Intake? {
            channel.send(.failure(id: request.id, error), final: true)
            return nil
        }
        if let peer, !peer.mayWrite, !request.verb.isReadOnly {
            return fail(ControlError(.forbidden, "\(peer) may only read (get, list, status): it is in agent.readers_group only"))
        }
        do {
            switch request.verb {
            case .status:
                channel.send(.success(id: request.id, ControlResult(status: try publishStatus())), final: true)
            case .get:
                guard let id = request.args.id.flatMap(IdentityID.init) else {
                    return fail(ControlError(.invalidInput, "id: missing or not a UUID"))
                }
                guard let view = try identityView(id, detailed: true) else {
                    return fail(ControlError(.notFound, "identity \(id) is unknown to this gateway"))
                }
                channel.send(.success(id: request.id, ControlResult(identity: view)), final: true)
            case .list:
                channel.send(.success(id: request.id, ControlResult(identities: try listViews(request.args))), final: true)
            case .retry, .dismiss:
                try retryOrDismiss(request, channel: channel)
            case .create, .update, .delete:
                let now = Date()
                let requests = try intake.requests(verb: request.verb, args: request.args, origin: nil, index: &index, now: now)
                try admit(requests, origin: nil, now: now)
                return Intake(
                    requestID: request.id, channel: channel, wait: request.args.wait == true,
                    timeout: waitTimeout(request.args),
                    requests: requests)
            }
        } catch let error as ControlError {
            return fail(error)
        } catch let full as OutboxFull {
            refusedFull += 1
            // A client retrying in a loop must not flood the journal: one line a minute at most, with the count.
            if lastRefusalLogged.map({ ContinuousClock.now - $0 >= .seconds(60) }) ?? true {
                logger.warning(
                    "outbox full, commands refused",
                    metadata: [
                        "refused": "\(refusedFull - refusedFullLogged)", "pending": "\(full.pending)", "max_queue": "\(full.limit)",
                    ])
                lastRefusalLogged = .now
                refusedFullLogged = refusedFull
            }
            return fail(full.controlError)
        } catch {
            logger.error("control request failed", metadata: ["verb": "\(request.verb.rawValue)", "error": "\(error)"])
            return fail(ControlError(.internal, "\(error)"))
        }
        return nil
    }

    /// Takes `requests` into this turn's commit if the outbox has room for all of them; otherwise throws `OutboxFull`.
    private func admit(_ requests: [IdentityRequest], origin: String?, now: Date) throws(OutboxFull) {
        if let full = settings.limits.refusal(pending: scheduler.pendingCount + admittedThisTurn, needed: requests.count) {
            throw full
        }
        admittedThisTurn += requests.count
        intake.admit(requests, origin: origin, index: &index, now: now)
    }

    /// Commits all accepted commands in one transaction, then tells each requester.
    private func commit(_ intakes: [Intake]) {
        guard !intakes.isEmpty else { return }
        let stored: [IdentityRequest]
        do {
            stored = try store.accept(intakes.flatMap { intake in intake.requests.map { (request: $0, origin: intake.origin) } })
        } catch {
            logger.error(
                "cannot store requests", metadata: ["count": "\(intakes.reduce(0) { $0 + $1.requests.count })", "error": "\(error)"])
            for intake in intakes {
                intake.channel?.send(
                    .failure(id: intake.requestID, ControlError(.internal, "not accepted: \(error)")), final: true)
            }
            reloadIndex()
            return
        }
        var offset = 0
        for intake in intakes {
            let mine = Array(stored[offset..<offset + intake.requests.count])
            offset += intake.requests.count
            for request in mine {
                scheduler.enqueue(request)
                refreshIndex(request.identity)
                logger.info("accepted", metadata: requestMetadata(request))
            }
            guard let channel = intake.channel else { continue }
            let views = mine.map(requestView)
            channel.send(.success(id: intake.requestID, event: .accepted, ControlResult(requests: views)), final: !intake.wait)
            if intake.wait, let main = mine.last {
                waiters[main.correlationID, default: []].append(
                    Waiter(channel: channel, requestID: intake.requestID, deadline: .now + intake.timeout))
            }
        }
    }

    private func retryOrDismiss(_ request: ControlRequest, channel: ResponseChannel) throws {
        guard let id = request.args.id.flatMap(IdentityID.init) else {
            throw ControlError(.invalidInput, "id: missing or not a UUID")
        }
        guard let latest = try store.latestRequest(identity: id) else {
            throw ControlError(.notFound, "identity \(id) has no requests")
        }
        guard latest.state == .failed else {
            throw ControlError(
                .refused, "the latest request of \(id) is \(latest.state.rawValue), not failed: only failed requests can be retried or dismissed")
        }
        // A retry puts the request back into the outbox, so it needs a place there like a new one.
        if request.verb == .retry, let full = settings.limits.refusal(pending: scheduler.pendingCount + admittedThisTurn, needed: 1) {
            throw full
        }
        let change: RequestChange =
            request.verb == .retry ? .retried(correlationID: latest.correlationID) : .dismissed(correlationID: latest.correlationID)
        let updated = try store.apply([change]).first.flatMap { $0 } ?? latest
        refreshIndex(id)
        if request.verb == .retry { scheduler.enqueue(updated) }
        logger.notice(
            request.verb == .retry ? "operator retried request" : "operator dismissed request", metadata: requestMetadata(updated))
        channel.send(.success(id: request.id, event: .accepted, ControlResult(requests: [requestView(updated)])), final: request.args.wait != true || request.verb == .dismiss)
        if request.verb == .retry, request.args.wait == true {
            waiters[updated.correlationID, default: []].append(
                Waiter(channel: channel, requestID: request.id, deadline: .now + waitTimeout(request.args)))
        }
    }

    /// How long a `wait` lasts: `timeoutMs` (default 30 s), at most a day.
    private func waitTimeout(_ args: ControlArguments) -> Duration {
        .milliseconds(Int64(min(max(args.timeoutMs ?? 30_000, 0), 86_400_000)))
    }

    // MARK: - identities.d

    private func reconcile(_ declared: DeclaredIdentities) -> [Intake] {
        var result: [Intake] = []
        declaredWaiting = nil
        var waitingForRoom = 0
        let wanted = Dictionary(declared.identities.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        // Parents before children, so that a child's parent is already live in the index.
        var ordered: [DeclaredIdentity] = []
        var placed: Set<IdentityID> = []
        func place(_ item: DeclaredIdentity, depth: Int) {
            guard !placed.contains(item.id), depth < 64 else { return }
            if let parent = item.parent, let parentItem = wanted[parent] { place(parentItem, depth: depth + 1) }
            placed.insert(item.id)
            ordered.append(item)
        }
        for item in declared.identities.sorted(by: { $0.fileName < $1.fileName }) { place(item, depth: 0) }

        for item in ordered {
            let existing = index[item.id]
            var verb: ControlVerb?
            if !index.isLive(item.id) {
                verb = .create
            } else if existing?.publicKey != item.publicKey {
                verb = .update
            }
            guard let verb else { continue }
            let args = ControlArguments(
                id: item.id.rawValue, publicKey: item.publicKey, parent: item.parent?.rawValue, target: item.target,
                context: item.context)
            do {
                let now = Date()
                let requests = try intake.requests(verb: verb, args: args, origin: item.origin, index: &index, now: now)
                try admit(requests, origin: item.origin, now: now)
                result.append(
                    Intake(
                        requestID: item.fileName, channel: nil, wait: false, timeout: .zero, requests: requests,
                        origin: item.origin))
            } catch let full as OutboxFull {
                waitingForRoom += full.needed
            } catch {
                logger.error(
                    "identities.d: file skipped", metadata: ["file": "\(item.fileName)", "error": "\(Self.message(error))"])
            }
        }
        if declared.prune {
            let orphans = index.entries.values.filter {
                declared.mayPrune(origin: $0.origin ?? "") && index.isLive($0.id) && wanted[$0.id] == nil
            }
            for orphan in orphans.sorted(by: { $0.id < $1.id }) where index.isLive(orphan.id) {
                let args = ControlArguments(id: orphan.id.rawValue, cascade: true)
                do {
                    let now = Date()
                    let requests = try intake.requests(verb: .delete, args: args, origin: orphan.origin, index: &index, now: now)
                    try admit(requests, origin: orphan.origin, now: now)
                    result.append(
                        Intake(
                            requestID: orphan.origin ?? "", channel: nil, wait: false, timeout: .zero,
                            requests: requests, origin: orphan.origin))
                } catch let full as OutboxFull {
                    waitingForRoom += full.needed
                } catch {
                    logger.error("identities.d: cannot prune", metadata: ["identity": "\(orphan.id)", "error": "\(Self.message(error))"])
                }
            }
        }
        if waitingForRoom > 0 && scheduler.pendingCount + admittedThisTurn == 0 {
            logger.error(
                "identities.d: the declared changes need more places than identity.max_queue",
                metadata: ["needed": "\(waitingForRoom)", "max_queue": "\(settings.limits.maxQueue)"])
        } else if waitingForRoom > 0 {
            // Reconciled again, as a whole, once the outbox has room for what is missing.
            declaredWaiting = (declared, min(waitingForRoom, settings.limits.maxQueue))
            logger.warning(
                "identities.d: outbox full, declared identities wait for room",
                metadata: ["waiting": "\(waitingForRoom)", "max_queue": "\(settings.limits.maxQueue)"])
        }
        logger.info("identities.d reconciled", metadata: ["declared": "\(declared.identities.count)", "requests": "\(result.reduce(0) { $0 + $1.requests.count })"])
        return result
    }

    private static func message(_ error: any Error) -> String {
        (error as? ControlError)?.message ?? "\(error)"
    }

    // MARK: - Acks

    private func handleMessage(topic: String, payload: [UInt8], correlationData: [UInt8]?, into changes: inout ChangeSet) {
        switch ackParser.parse(topic: topic, payload: payload, correlationData: correlationData) {
        case .failure(let malformed):
            malformedAcks += 1
            // A cloud that keeps sending one kind of bad ack: the first in full, then one count per interval per kind.
            repeats.failed(
                "malformed ack dropped", cause: malformed.problem.rawValue,
                metadata: [
                    "topic": "\(topic.prefix(256))", "reason": "\(malformed.reason)", "problem": "\(malformed.problem.rawValue)",
                ])
        case .success(let ack):
            guard let request = scheduler.request(ack.correlationID), !changes.contains(ack.correlationID) else {
                unknownAcks += 1
                logger.debug("ack for an unknown or finished request", metadata: ["correlationId": "\(ack.correlationID.prefix(64))"])
                return
            }
            guard ack.action == request.action else {
                malformedAcks += 1
                logger.warning(
                    "ack action does not match the request, dropped",
                    metadata: ["correlationId": "\(ack.correlationID)", "ack": "\(ack.action.rawValue)", "request": "\(request.action.rawValue)"])
                return
            }
            switch ack.outcome {
            case .success:
                changes.acked(request)
            case .failure(let error, let message):
                changes.failed(request, reason: error, message: message)
            }
        }
    }

    /// State changes of one turn, applied in one transaction.
    private struct ChangeSet {
        var changes: [RequestChange] = []
        var finished: [(request: IdentityRequest, state: RequestState)] = []
        private var seen: Set<String> = []

        func contains(_ correlationID: String) -> Bool { seen.contains(correlationID) }

        mutating func acked(_ request: IdentityRequest) {
            guard seen.insert(request.correlationID).inserted else { return }
            changes.append(.acked(correlationID: request.correlationID))
            finished.append((request, .acked))
        }

        mutating func failed(_ request: IdentityRequest, reason: String, message: String?) {
            guard seen.insert(request.correlationID).inserted else { return }
            changes.append(.failed(correlationID: request.correlationID, error: reason, message: message))
            var failed = request
            failed.lastError = reason
            failed.lastErrorMessage = message
            finished.append((failed, .failed))
        }
    }

    private func apply(_ set: ChangeSet) {
        guard !set.changes.isEmpty else { return }
        do {
            try store.apply(set.changes)
        } catch {
            // The requests stay pending in memory and in the store: they are sent again and acked again.
            repeats.failed(
                "cannot record outcomes", cause: "\(error)", level: .error,
                metadata: ["count": "\(set.changes.count)", "error": "\(error)"])
            return
        }
        let now = ContinuousClock.now
        for (request, state) in set.finished {
            if state == .acked, let flight = scheduler.inFlight[request.correlationID] {
                ackLatency.observe((now - flight.sentAt).secondsDouble)
            }
            scheduler.finish(request.correlationID)
            refreshIndex(request.identity)
            var metadata = requestMetadata(request)
            if state == .acked {
                logger.info("acknowledged", metadata: metadata)
            } else {
                metadata["error"] = "\(request.lastError ?? "")"
                if let message = request.lastErrorMessage { metadata["message"] = "\(message)" }
                logger.warning("request failed", metadata: metadata)
                lastError = "\(request.action.rawValue) \(request.identity): \(request.lastError ?? "")"
            }
            answerWaiters(request.correlationID)
        }
    }

    // MARK: - Sending

    private func sendDue(now: ContinuousClock.Instant) {
        guard let publisher else { return }
        while true {
            let window = scheduler.windowSpace
            let allowed = limiter.available(at: now)
            let capacity = min(window, allowed)
            let plan = scheduler.plan(capacity: capacity, index: index)
            if !plan.fail.isEmpty {
                var changes = ChangeSet()
                for failure in plan.fail {
                    changes.failed(scheduler.request(failure.correlationID)!, reason: failure.reason, message: failure.message)
                }
                apply(changes)
                // A failed parent may fail its children in turn, or free a slot: plan again.
                continue
            }
            // When the rate, not the window, held requests back, wake when the next slot opens.
            rateLimited = allowed < window && plan.send.count >= capacity
            if plan.send.isEmpty { return }
            let timestamp = isoTimestamp()
            let sent = plan.send.map { scheduler.markSent($0, timestamp: timestamp, at: now) }
            do {
                // The timestamp and attempt count are stored before the publish, so a crash cannot change them.
                try store.apply(sent.map { .sent(correlationID: $0.correlationID, timestamp: $0.timestamp!, attempts: $0.attempts) })
            } catch {
                // Tried again every turn while the disk is full: the first in full, then one count per interval.
                repeats.failed(Self.cannotRecordSends, cause: "\(error)", level: .error, metadata: ["error": "\(error)"])
                sendsHeld = true
                scheduler.connectionLost()
                return
            }
            if sendsHeld {
                sendsHeld = false
                repeats.recovered(
                    Self.cannotRecordSends, message: "sends recorded again, sending the held requests",
                    metadata: ["pending": "\(scheduler.pendingCount)"])
            }
            for request in sent {
                let message = RequestMessage(request: request, moduleID: settings.moduleID, timestamp: request.timestamp!)
                do {
                    let messageID = try publisher.publish(message)
                    scheduler.setMessageID(messageID, for: request.correlationID)
                    messageIDs[messageID] = request.correlationID
                    // The time after the publish call: a slow publish must not open the window early.
                    limiter.record(at: .now)
                    logger.debug("sent", metadata: requestMetadata(request))
                } catch {
                    logger.warning("publish failed, will send again after reconnect", metadata: ["error": "\(error)"])
                    self.publisher = nil
                    scheduler.connectionLost()
                    return
                }
            }
            if plan.send.count < capacity || capacity == 0 { return }
        }
    }

    // MARK: - Waiters

    private func answerWaiters(_ correlationID: String) {
        guard let list = waiters.removeValue(forKey: correlationID) else { return }
        let view = (try? store.request(correlationID: correlationID)).flatMap { $0 }.map(requestView)
        for waiter in list where !waiter.channel.isCancelled {
            waiter.channel.send(
                .success(id: waiter.requestID, event: .outcome, ControlResult(requests: view.map { [$0] } ?? [])), final: true)
        }
    }

    private func answerExpiredWaits(now: ContinuousClock.Instant) {
        for (correlationID, list) in waiters {
            let (due, keep) = (list.filter { $0.deadline <= now || $0.channel.isCancelled }, list.filter { $0.deadline > now && !$0.channel.isCancelled })
            guard !due.isEmpty else { continue }
            waiters[correlationID] = keep.isEmpty ? nil : keep
            let view = (try? store.request(correlationID: correlationID)).flatMap { $0 }.map(requestView)
            for waiter in due where !waiter.channel.isCancelled {
                waiter.channel.send(
                    .success(id: waiter.requestID, event: .outcome, ControlResult(requests: view.map { [$0] } ?? [])), final: true)
            }
        }
    }

    private func finishForShutdown() {
        for (_, list) in waiters {
            for waiter in list where !waiter.channel.isCancelled {
                waiter.channel.send(
                    .failure(
                        id: waiter.requestID,
                        ControlError(.unavailable, "the agent is stopping; the request is stored and is sent after restart")),
                    final: true)
            }
        }
        waiters.removeAll()
        logger.info("engine stopped", metadata: ["pending": "\(scheduler.pendingCount)"])
    }

    // MARK: - Index

    private func refreshIndex(_ id: IdentityID) {
        if let row = try? store.identity(id) { index.set(row) }
    }

    private func reloadIndex() {
        if let all = try? store.identities() { index = IdentityIndex(all) }
    }

    // MARK: - Views

    private func requestMetadata(_ request: IdentityRequest) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "identity": "\(request.identity)", "action": "\(request.action.rawValue)",
            "correlationId": "\(request.correlationID)", "attempts": "\(request.attempts)",
        ]
        if let parent = request.parent { metadata["parent"] = "\(parent)" }
        return metadata
    }

    func requestView(_ request: IdentityRequest) -> RequestView {
        RequestView(
            correlationId: request.correlationID, action: request.action.rawValue, identity: request.identity.rawValue,
            parent: request.parent?.rawValue, state: request.state.rawValue, attempts: request.attempts,
            timestamp: request.timestamp, acceptedAt: isoTimestamp(request.acceptedAt), lastError: request.lastError,
            lastErrorMessage: request.lastErrorMessage)
    }

    private func identityView(_ id: IdentityID, detailed: Bool) throws -> IdentityView? {
        guard let identity = try store.identity(id) else { return nil }
        let requests = detailed ? try store.requests(identity: id) : []
        let latest = detailed ? requests.last : try store.latestRequest(identity: id)
        return IdentityView(
            id: id.rawValue, parent: identity.parent?.rawValue, state: latest?.state.rawValue, lastError: latest?.lastError,
            cloudState: identity.cloudState.rawValue, origin: identity.origin, updatedAt: isoTimestamp(identity.updatedAt),
            publicKey: detailed ? identity.publicKey : nil, requests: detailed ? requests.map(requestView) : nil)
    }

    private func listViews(_ args: ControlArguments) throws -> [IdentityView] {
        var parentFilter: IdentityID?
        if let parent = args.parent {
            guard let id = IdentityID(parent) else { throw ControlError(.invalidInput, "parent: '\(parent.prefix(64))' is not a UUID") }
            parentFilter = id
        }
        let states: Set<String>?
        switch args.state {
        case nil: states = nil
        case "pending"?: states = [RequestState.queued.rawValue, RequestState.inFlight.rawValue]
        case let text? where RequestState(rawValue: text) != nil: states = [text]
        case let text?:
            throw ControlError(
                .invalidInput, "state: '\(text.prefix(32))' is not one of pending, queued, in-flight, acked, failed, dismissed")
        }
        var views: [IdentityView] = []
        for identity in try store.identities(parent: parentFilter.map { .identity($0) } ?? .any) {
            guard let view = try identityView(identity.id, detailed: false) else { continue }
            if let states, !states.contains(view.state ?? "") { continue }
            views.append(view)
        }
        return views
    }

    private func statusView() throws -> StatusView {
        let counts = try store.counts()
        let oldest = try store.oldestPendingAcceptedAt().map { Date().timeIntervalSince($0) }
        var view = StatusView(
            connection: connection.rawValue, endpoint: endpoint, transport: settings.transport,
            credentialSource: settings.credentialSource,
            credentialsExpireAt: credentialsExpireAt.map { isoTimestamp($0) }, queued: counts.queued,
            inFlight: counts.inFlight, failed: counts.failed, oldestPendingSeconds: oldest, lastError: lastError,
            unknownAcks: unknownAcks, malformedAcks: malformedAcks, moduleId: settings.moduleID.rawValue,
            version: settings.version, uptimeSeconds: (ContinuousClock.now - startedAt).secondsDouble)
        view.maxQueue = settings.limits.maxQueue
        view.maxRequestAgeSeconds = settings.limits.maxRequestAge?.secondsDouble
        view.reconnects = max(0, connections - 1)
        let totals = try store.counters()
        view.counters = StatusCounters(
            accepted: totals.accepted, published: totals.published, retried: totals.retried, acked: totals.acked,
            failed: totals.failed, rejected: totals.rejected, expired: totals.expired, refused: refusedFull)
        view.ackLatency = LatencyHistogramView(
            bounds: ackLatency.bounds, counts: ackLatency.cumulativeCounts, count: ackLatency.count, sumSeconds: ackLatency.sum)
        return view
    }

    /// A fresh status, kept in `latestStatus` as well.
    @discardableResult
    private func publishStatus() throws -> StatusView {
        nextStatusPublish = ContinuousClock.now + .seconds(1)
        let view = try statusView()
        let snapshot = StatusSnapshot(status: view, credentialsExpireAt: credentialsExpireAt)
        latestStatus.withLock { $0 = snapshot }
        return view
    }
}
