import ControlProtocol
import Synchronization

/// What each client uid may hold on the control socket at once, so one misbehaving local program cannot starve
/// the others (`agent.control_max_requests_per_client`).
///
/// A request counts from the moment its line is read until its final answer (a `wait` counts while it waits).
/// A uid may also keep at most twice as many connections open, so leaked idle connections cannot take every one
/// of the server's slots; twice, because a client that reconnects at once briefly holds two. root and the agent's
/// own user are limited like any other uid: on a gateway most local programs run as root.
final class ClientQuota: Sendable {
    let maxRequests: Int
    var maxConnections: Int { min(2 * maxRequests, ControlServer.maxConnections) }

    private struct Held {
        var connections = 0
        var requests = 0
    }

    private let held = Mutex<[UInt32: Held]>([:])

    init(maxRequests: Int) {
        self.maxRequests = maxRequests
    }

    /// Takes a connection slot for `uid`; the refusal to send when it has none left.
    func openConnection(uid: UInt32) -> ControlError? {
        let limit = maxConnections
        return held.withLock { held in
            guard held[uid, default: Held()].connections < limit else {
                return ControlError(.busy, "uid \(uid) already has \(limit) connections open to the agent; close idle ones")
            }
            held[uid, default: Held()].connections += 1
            return nil
        }
    }

    func closeConnection(uid: UInt32) {
        release(uid) { $0.connections -= 1 }
    }

    /// Takes a request slot for `uid`; the refusal to send when it has none left.
    func beginRequest(uid: UInt32) -> ControlError? {
        let limit = maxRequests
        return held.withLock { held in
            guard held[uid, default: Held()].requests < limit else {
                return ControlError(
                    .busy,
                    "uid \(uid) already has \(limit) requests in progress (agent.control_max_requests_per_client)")
            }
            held[uid, default: Held()].requests += 1
            return nil
        }
    }

    func endRequest(uid: UInt32) {
        release(uid) { $0.requests -= 1 }
    }

    /// How many uids hold a slot now: one that holds nothing is forgotten, so the table stays small.
    var clientCount: Int { held.withLock { $0.count } }

    private func release(_ uid: UInt32, _ change: (inout Held) -> Void) {
        held.withLock { held in
            guard var entry = held[uid] else { return }
            change(&entry)
            held[uid] = entry.connections <= 0 && entry.requests <= 0 ? nil : entry
        }
    }
}
