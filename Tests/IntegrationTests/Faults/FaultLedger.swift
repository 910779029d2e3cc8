import ControlProtocol
import Foundation
import Glibc
import Synchronization
import TestSupport
import Testing

/// How big the fault suite runs: `FAULT_SCALE` (default 1) multiplies every stream's request count, so the soak
/// (`scripts/soak`) runs the same cases with larger streams; `FAULT_REPORT` names a file each case appends its
/// counts line to.
enum FaultScale {
    static var factor: Int {
        ProcessInfo.processInfo.environment["FAULT_SCALE"].flatMap(Int.init).map { max(1, $0) } ?? 1
    }

    /// `base` requests at scale 1.
    static func requests(_ base: Int) -> Int { base * factor }

    /// True in the long form: cases too slow for CI (keepalive-detected black holes) run too.
    static var soak: Bool { factor > 1 }
}

/// What one fault case sent, and the checks that it came through: every accepted request applied by the cloud
/// exactly once per correlation id and acknowledged in the agent's store, no identity created twice, nothing left
/// pending, the store intact.
///
/// "Exactly once" on the cloud side: MQTT QoS 1 is at least once, and the agent resends a request (same
/// correlation id) after an ack timeout, a reconnect or a restart. The responder deduplicates by correlation id:
/// a redelivery is acknowledged again but changes the registry at most once. So `duplicated` counts correlation
/// ids applied twice and identities created by two different requests; redeliveries are counted on their own.
final class FaultLedger: Sendable {
    let name: String
    /// Correlation id → identity, for every request the agent answered `accepted`.
    private let accepted = Mutex<[String: String]>([:])
    /// Identities whose create got no answer (the agent was killed meanwhile): maybe committed, maybe not.
    private let unanswered = Mutex<Set<String>>([])
    /// Faults injected (kills, restarts, cuts…).
    private let faults = Atomic<Int>(0)
    /// Submitter threads still running.
    private let submitters = Atomic<Int>(0)

    init(_ name: String) { self.name = name }

    var acceptedCount: Int { accepted.withLock { $0.count } }

    /// Creates submitted so far, answered or not.
    var submittedCount: Int { acceptedCount + unanswered.withLock { $0.count } }

    /// True while a submitter thread is still sending creates.
    var isSubmitting: Bool { submitters.load(ordering: .acquiring) > 0 }

    /// Counts `count` more faults injected.
    func injected(_ count: Int = 1) { faults.add(count, ordering: .relaxed) }

    /// Submits a create for each of `ids` through the control socket, one by one. While the agent is down (no
    /// connection) the create waits for it; a create sent but not answered (the agent was killed meanwhile) is
    /// noted as unanswered, not retried: it may or may not have been committed.
    func submitCreates(_ ids: [String], to socketPath: String) throws {
        for id in ids {
            let deadline = ContinuousClock.now + .seconds(60)
            var client: ControlClient?
            while client == nil {
                client = try? ControlClient(socketPath: socketPath)
                if client == nil {
                    guard ContinuousClock.now < deadline else { throw ChildProcessError("no agent on \(socketPath) for 60 s") }
                    usleep(10_000)
                }
            }
            do {
                try client?.send(
                    ControlRequest(id: "fault", verb: .create, args: ControlArguments(id: id, publicKey: CloudHarness.key)))
                let response = try client?.receive()
                if let view = response?.result?.requests?.first, response?.event == .accepted {
                    accepted.withLock { $0[view.correlationId] = id }
                } else {
                    unanswered.withLock { _ = $0.insert(id) }
                }
            } catch {
                unanswered.withLock { _ = $0.insert(id) }
            }
        }
    }

    /// Submits one create; notes it when accepted and returns the agent's first answer.
    @discardableResult
    func submitCreate(_ id: String, to socketPath: String) throws -> ControlResponse? {
        let responses = try CloudHarness.submit(to: socketPath, .create, ControlArguments(id: id, publicKey: CloudHarness.key))
        if let view = responses.first?.result?.requests?.first, responses.first?.event == .accepted {
            accepted.withLock { $0[view.correlationId] = id }
        }
        return responses.first
    }

    /// Submits a create for each of `ids`, one by one, each of which the agent must accept (faults that leave the
    /// control socket alone).
    func submitCreatesAnswered(_ ids: [String], to socketPath: String) throws {
        for id in ids {
            let response = try submitCreate(id, to: socketPath)
            guard response?.event == .accepted else {
                throw ChildProcessError("create \(id) not accepted: \(String(describing: response))")
            }
        }
    }

    /// Submits `ids` on `threads` threads of their own (see `submitCreates`; `answered`: see
    /// `submitCreatesAnswered`) while the test injects its faults; `finish` waits for the last answer. Several
    /// threads let the agent commit many requests per transaction, as busy gateways do.
    func startSubmitting(_ ids: [String], to socketPath: String, answered: Bool = true, threads: Int = 1) -> Submission {
        let submission = Submission(threads: threads)
        submitters.add(threads, ordering: .releasing)
        for thread in 0..<threads {
            let share = stride(from: thread, to: ids.count, by: threads).map { ids[$0] }
            Thread {
                do {
                    if answered {
                        try self.submitCreatesAnswered(share, to: socketPath)
                    } else {
                        try self.submitCreates(share, to: socketPath)
                    }
                } catch {
                    submission.failure.withLock { $0 = error }
                }
                submission.running.subtract(1, ordering: .releasing)
                self.submitters.subtract(1, ordering: .releasing)
            }.start()
        }
        return submission
    }

    /// A stream of creates being submitted.
    final class Submission: Sendable {
        fileprivate let running: Atomic<Int>
        fileprivate let failure = Mutex<(any Error)?>(nil)

        fileprivate init(threads: Int) { running = Atomic(threads) }

        var isDone: Bool { running.load(ordering: .acquiring) == 0 }

        /// Waits until every create was submitted; rethrows what stopped a submitter.
        func finish() async throws {
            while !isDone { try await Task.sleep(for: .milliseconds(50)) }
            if let error = failure.withLock({ $0 }) { throw error }
        }
    }

    /// The counts of one case.
    struct Counts: CustomStringConvertible {
        var requests = 0
        var lost = 0
        var duplicated = 0
        var pending = 0
        var redelivered = 0
        var ackedTwice = 0
        /// Creates sent that got no answer (the agent was killed): each either never stored, or stored and acked.
        var unanswered = 0
        var faults = 0
        var integrity = "ok"
        var problems: [String] = []

        var description: String {
            "requests=\(requests) lost=\(lost) duplicated=\(duplicated) pending=\(pending) redelivered=\(redelivered) "
                + "acked_twice=\(ackedTwice) unanswered=\(unanswered) faults=\(faults) integrity=\(integrity)"
        }
    }

    /// Compares the responder's registry and the agent's store with what was accepted, prints the counts line
    /// (`fault-suite case=… requests=… lost=… duplicated=…`; also appended to `$FAULT_REPORT`) and expects
    /// nothing lost, doubled or pending.
    @discardableResult
    func verify(responder: TestIdentityResponder, agent: AgentUnderTest) throws -> Counts {
        let state = try responder.state()
        let rows = try StoreRows(stateDir: agent.stateDir)
        let accepted = accepted.withLock { $0 }
        let unanswered = unanswered.withLock { $0 }
        var counts = Counts(requests: accepted.count, faults: faults.load(ordering: .relaxed), integrity: rows.integrity)

        let appliedTimes = Dictionary(state.applied.map { ($0, 1) }, uniquingKeysWith: +)
        for (correlationID, identity) in accepted {
            if appliedTimes[correlationID] == nil || state.registry[identity] == nil {
                counts.lost += 1
                counts.problems.append("\(correlationID) (\(identity)) not applied by the cloud")
            } else if rows.states[correlationID] != "acked" {
                counts.lost += 1
                counts.problems.append("\(correlationID) is \(rows.states[correlationID] ?? "missing") in the store")
            }
            counts.redelivered += max(0, (state.requestCounts[correlationID] ?? 0) - 1)
        }
        counts.duplicated += appliedTimes.values.filter { $0 > 1 }.count
        let createsPerIdentity = Dictionary(
            state.applied.compactMap { rows.creates[$0] }.map { ($0, 1) }, uniquingKeysWith: +)
        counts.duplicated += createsPerIdentity.values.filter { $0 > 1 }.count
        for (correlationID, rowState) in rows.states where rowState != "acked" {
            counts.pending += 1
            counts.problems.append("\(correlationID) left \(rowState)")
        }
        for (correlationID, identity) in rows.identities where accepted[correlationID] == nil {
            if !unanswered.contains(identity) { counts.problems.append("\(correlationID) stored but never submitted") }
        }
        let acknowledgements = Self.acknowledgements(in: agent.log())
        counts.ackedTwice = acknowledgements.values.filter { $0 > 1 }.count
        counts.unanswered = unanswered.count

        let line = "fault-suite case=\(name) \(counts)"
        print(line)
        if let report = ProcessInfo.processInfo.environment["FAULT_REPORT"], let file = fopen(report, "a") {
            fputs(line + "\n", file)
            fclose(file)
        }
        #expect(counts.lost == 0, "\(name): \(counts.problems.prefix(10))")
        #expect(counts.duplicated == 0, "\(name): \(counts)")
        #expect(counts.pending == 0, "\(name): \(counts.problems.prefix(10))")
        #expect(counts.ackedTwice == 0, "\(name): \(counts)")
        #expect(acknowledgements.count >= accepted.count / 2, "\(name): the agent's log shows its acks")
        #expect(counts.integrity == "ok", "\(name): \(counts.integrity)")
        #expect(counts.problems.isEmpty, "\(name): \(counts.problems.prefix(10))")
        return counts
    }

    /// How many times the agent logged each correlation id as acknowledged.
    static func acknowledgements(in log: String) -> [Substring: Int] {
        var seen: [Substring: Int] = [:]
        for line in log.split(separator: "\n") where line.contains(" acknowledged ") {
            guard let range = line.range(of: "correlationId=") else { continue }
            let id = line[range.upperBound...].prefix { !$0.isWhitespace && $0 != "," && $0 != "\"" }
            seen[id, default: 0] += 1
        }
        return seen
    }
}

/// The agent's store as `sqlite3` reads it: each request's state, and `PRAGMA integrity_check`.
struct StoreRows {
    /// Correlation id → request state.
    var states: [String: String] = [:]
    /// Correlation id → identity.
    var identities: [String: String] = [:]
    /// Correlation id → identity, for creates.
    var creates: [String: String] = [:]
    var integrity: String

    init(stateDir: String) throws {
        let database = stateDir + "/identities.sqlite3"
        let rows = try ChildProcess.run(
            "/usr/bin/sqlite3",
            ["-readonly", "-separator", "|", database, "SELECT correlation_id, identity, action, state FROM requests"]
        ).checked()
        for line in rows.stdout.split(separator: "\n") {
            let fields = line.split(separator: "|").map(String.init)
            guard fields.count == 4 else { continue }
            states[fields[0]] = fields[3]
            identities[fields[0]] = fields[1]
            if fields[2] == "create" { creates[fields[0]] = fields[1] }
        }
        integrity = try Self.integrityCheck(stateDir: stateDir)
    }

    /// `PRAGMA integrity_check` of the store in `stateDir`: "ok" when intact.
    static func integrityCheck(stateDir: String) throws -> String {
        let outcome = try ChildProcess.run(
            "/usr/bin/sqlite3", ["-readonly", stateDir + "/identities.sqlite3", "PRAGMA integrity_check"])
        return outcome.succeeded ? outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : outcome.description
    }
}

/// Identities for a fault case: `count` UUIDs in their own group, so cases never share one.
func faultIDs(_ count: Int, group: Int, from start: Int = 0) -> [String] {
    (start..<start + count).map { CloudHarness.id($0, group: group) }
}
