import FoundationEssentials
import GatewayCore
import Glibc
import IdentityStore

/// `store`: opened read-only without the agent's lock (safe while it runs): integrity, size, queue, failures.
enum StoreCheck {
    /// A request pending longer than this warns: the agent has not reached the cloud for that long.
    static let stalePending: Double = 3600

    static func run(stateDir: String) -> ([CheckResult], CheckFacts.Store) {
        let path = stateDir + "/identities.sqlite3"
        var facts = CheckFacts.Store()
        facts.path = path
        guard access(path, F_OK) == 0 else {
            return (
                [CheckResult("store", .warn, "no store at \(path) yet: the agent creates it when it first starts")],
                facts
            )
        }
        facts.sizeBytes = fileSize(path) + fileSize(path + "-wal")
        let store: IdentityStore
        do {
            store = try IdentityStore.openForReading(stateDir: stateDir)
        } catch {
            return ([CheckResult("store", .fail, "cannot open \(path): \(error); check agent.state_dir and who runs check")], facts)
        }
        defer { store.close() }
        do {
            let problems = try store.integrityProblems()
            facts.integrity = problems.isEmpty ? "ok" : problems.prefix(5).joined(separator: "; ")
            let counts = try store.counts()
            facts.queued = counts.queued
            facts.inFlight = counts.inFlight
            facts.failed = counts.failed
            let oldest = try store.oldestPendingAcceptedAt()
            facts.oldestPendingAcceptedAt = oldest.map { isoTimestamp($0) }
            var results: [CheckResult] = []
            if !problems.isEmpty {
                results.append(
                    CheckResult(
                        "store", .fail,
                        "integrity check of \(path) failed (\(facts.integrity!)): stop the agent, keep a copy of "
                            + "agent.state_dir, and restore it from a backup"))
            }
            let size = ByteCount.bytes(facts.sizeBytes ?? 0)
            var text = "\(path): integrity ok, \(size), \(counts.queued) queued, \(counts.inFlight) in flight, "
                + "\(counts.failed) failed"
            if let oldest {
                text += ", oldest pending accepted \(isoTimestamp(oldest))"
            }
            if counts.failed > 0 {
                results.append(
                    CheckResult(
                        "store", .warn,
                        "\(text): see `gateway-agent identity list --state failed`, then `identity retry` or "
                            + "`identity dismiss` each"))
            } else if let oldest, Date().timeIntervalSince(oldest) > stalePending {
                results.append(
                    CheckResult(
                        "store", .warn, "\(text): requests have waited over an hour; see the broker and agent lines"))
            } else if problems.isEmpty {
                results.append(CheckResult("store", .ok, text))
            }
            return (results, facts)
        } catch {
            return ([CheckResult("store", .fail, "cannot read \(path): \(error)")], facts)
        }
    }

    private static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }
}

/// Sizes as an operator reads them.
enum ByteCount {
    static func bytes(_ count: Int) -> String {
        if count >= 1 << 20 { return "\(count >> 20) MiB" }
        if count >= 1 << 10 { return "\(count >> 10) KiB" }
        return "\(count) bytes"
    }
}
