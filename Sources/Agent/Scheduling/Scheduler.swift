import FoundationEssentials
import GatewayCore

/// Decides which pending requests go out next. Pure: no I/O, no clock of its own.
///
/// Rules (DESIGN.md §4):
/// - requests of one identity go out one at a time, in the order they were accepted;
/// - a request naming a parent waits until the parent's create is acknowledged,
///   and fails with `parent-failed` when that create failed;
/// - a delete waits until every live child is deleted; a cascade goes level by level, deepest first,
///   each level acknowledged before the one above is sent;
/// - no ack within the ack timeout: resend with the same correlation id and timestamp, waiting
///   twice as long each time, up to `maxAttempts` sends; then `no-ack`.
struct Scheduler {
    struct Settings {
        var maxInflight: Int
        var ackTimeout: Duration
        var maxAttempts: Int
    }

    /// A decision about a request that can never be sent.
    struct Failure: Equatable {
        var correlationID: String
        var reason: String
        var message: String
    }

    private struct Head {
        var sequence: Int64
        var correlationID: String
        /// A request naming a parent, or a delete: it may wait or fail; any other head can always be sent.
        var conditional: Bool
    }

    struct Flight {
        var deadline: ContinuousClock.Instant
        var messageID: Int32?
        /// When the latest send went out (ack latency).
        var sentAt: ContinuousClock.Instant
    }

    let settings: Settings
    /// Queued and in-flight requests by correlation id.
    private(set) var pending: [String: IdentityRequest] = [:]
    /// Per identity, correlation ids in acceptance order; the first is the only one that may be in flight.
    private var queues: [IdentityID: [String]] = [:]
    private(set) var inFlight: [String: Flight] = [:]
    /// The first request of every queue, oldest first: kept in step by `enqueue` and `finish`, so that planning,
    /// which runs for every paced publish, neither sorts nor looks at more than it must.
    private var heads: [Head] = []
    /// Requests whose last send was lost with a connection: their resend does not count as an attempt.
    private var lostWithConnection: Set<String> = []

    init(settings: Settings) { self.settings = settings }

    var pendingCount: Int { pending.count }

    func request(_ correlationID: String) -> IdentityRequest? { pending[correlationID] }

    func hasPendingRequests(for identity: IdentityID) -> Bool { !(queues[identity]?.isEmpty ?? true) }

    /// Adds a stored request. One that was in flight before a restart is sent again without counting an attempt.
    mutating func enqueue(_ request: IdentityRequest) {
        pending[request.correlationID] = request
        var queue = queues[request.identity] ?? []
        let position = queue.firstIndex { pending[$0]!.sequence > request.sequence } ?? queue.endIndex
        if position == 0, let head = queue.first { removeHead(sequence: pending[head]!.sequence) }
        queue.insert(request.correlationID, at: position)
        queues[request.identity] = queue
        if position == 0 { insertHead(request) }
        if request.state == .inFlight { lostWithConnection.insert(request.correlationID) }
    }

    /// Removes a request that reached a final state.
    @discardableResult
    mutating func finish(_ correlationID: String) -> IdentityRequest? {
        guard let request = pending.removeValue(forKey: correlationID) else { return nil }
        inFlight[correlationID] = nil
        lostWithConnection.remove(correlationID)
        let wasHead = queues[request.identity]?.first == correlationID
        queues[request.identity]?.removeAll { $0 == correlationID }
        if wasHead {
            removeHead(sequence: request.sequence)
            if let next = queues[request.identity]?.first { insertHead(pending[next]!) }
        }
        if queues[request.identity]?.isEmpty == true { queues[request.identity] = nil }
        return request
    }

    private mutating func insertHead(_ request: IdentityRequest) {
        let head = Head(
            sequence: request.sequence, correlationID: request.correlationID,
            conditional: request.parent != nil || request.action == .delete)
        heads.insert(head, at: headPosition(request.sequence))
    }

    private mutating func removeHead(sequence: Int64) {
        let position = headPosition(sequence)
        if position < heads.count, heads[position].sequence == sequence { heads.remove(at: position) }
    }

    /// Where a head with `sequence` is or belongs in `heads`.
    private func headPosition(_ sequence: Int64) -> Int {
        var low = 0
        var high = heads.count
        while low < high {
            let middle = (low + high) / 2
            if heads[middle].sequence < sequence { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The connection dropped: everything in flight must be sent again.
    mutating func connectionLost() {
        lostWithConnection.formUnion(inFlight.keys)
        inFlight.removeAll()
    }

    /// Up to `capacity` requests to send now (oldest first), and requests that can never be sent.
    func plan(capacity: Int, index: IdentityIndex) -> (send: [String], fail: [Failure]) {
        var send: [String] = []
        var fail: [Failure] = []
        for head in heads {
            // Once the sends are chosen, only a conditional head can still turn out to be unsendable.
            if send.count >= capacity && !head.conditional { continue }
            let correlationID = head.correlationID
            guard inFlight[correlationID] == nil else { continue }
            switch verdict(for: pending[correlationID]!, index: index) {
            case .wait:
                continue
            case .fail(let reason, let message):
                fail.append(Failure(correlationID: correlationID, reason: reason, message: message))
            case .send:
                guard send.count < capacity else { continue }
                send.append(correlationID)
            }
        }
        return (send, fail)
    }

    /// Free places in the in-flight window.
    var windowSpace: Int { max(0, settings.maxInflight - inFlight.count) }

    /// Records a send; returns the request with its attempts and timestamp as they must be stored.
    mutating func markSent(_ correlationID: String, timestamp: String, at now: ContinuousClock.Instant) -> IdentityRequest {
        var request = pending[correlationID]!
        if !lostWithConnection.contains(correlationID) || request.attempts == 0 { request.attempts += 1 }
        lostWithConnection.remove(correlationID)
        if request.timestamp == nil { request.timestamp = timestamp }
        request.state = .inFlight
        pending[correlationID] = request
        inFlight[correlationID] = Flight(deadline: now + ackWait(afterAttempt: request.attempts), messageID: nil, sentAt: now)
        return request
    }

    mutating func setMessageID(_ messageID: Int32, for correlationID: String) {
        inFlight[correlationID]?.messageID = messageID
    }

    /// Requests whose ack wait ran out: to send again, or to give up on (`no-ack`).
    mutating func expire(at now: ContinuousClock.Instant) -> (resend: [String], giveUp: [String]) {
        var resend: [String] = []
        var giveUp: [String] = []
        for (correlationID, flight) in inFlight where flight.deadline <= now {
            inFlight[correlationID] = nil
            if pending[correlationID]!.attempts >= settings.maxAttempts {
                giveUp.append(correlationID)
            } else {
                resend.append(correlationID)
            }
        }
        return (resend, giveUp)
    }

    /// Requests accepted before `cutoff` that are not in flight (identity.max_request_age), oldest first.
    /// One in flight is left to its ack wait: its ack may be on the way.
    func acceptedBefore(_ cutoff: Date) -> [String] {
        pending.values.filter { $0.acceptedAt < cutoff && inFlight[$0.correlationID] == nil }
            .sorted { $0.sequence < $1.sequence }.map(\.correlationID)
    }

    /// The earliest ack deadline, for the engine's sleep.
    var nextDeadline: ContinuousClock.Instant? { inFlight.values.map(\.deadline).min() }

    /// Ack wait after the n-th send: ack_timeout · 2ⁿ⁻¹, at most 8 × ack_timeout.
    func ackWait(afterAttempt attempt: Int) -> Duration {
        settings.ackTimeout * (1 << min(max(attempt - 1, 0), 3))
    }

    private enum Verdict {
        case send, wait
        case fail(reason: String, message: String)
    }

    private func verdict(for request: IdentityRequest, index: IdentityIndex) -> Verdict {
        if let parent = request.parent {
            switch index[parent]?.cloudState {
            case .present?, .deleting?:
                break
            case .pending?:
                return .wait
            case .failed?:
                return .fail(reason: FailureReason.parentFailed, message: "the create of parent \(parent) failed")
            case .deleted?, nil:
                return .fail(reason: FailureReason.parentFailed, message: "parent \(parent) does not exist")
            }
        }
        if request.action == .delete {
            // A cascade goes level by level: nothing is sent while a deeper level of the same cascade lives.
            let (root, depth) = index.cascadeRoot(of: request.identity)
            let deeper = index.liveLevels(below: root).dropFirst(depth).joined()
            if let stuck = deeper.first(where: { !hasPendingRequests(for: $0) }) {
                return .fail(
                    reason: FailureReason.childNotDeleted,
                    message: "descendant \(stuck) was not deleted: delete it (or retry its failed delete) first")
            }
            if !deeper.isEmpty { return .wait }
        }
        return .send
    }
}
