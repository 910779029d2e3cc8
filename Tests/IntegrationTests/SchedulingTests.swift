import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// Parent-first order, cascade deletes, retries, max attempts: the agent's scheduling against the real stack.
@Suite("Scheduling", .blockingWaits)
struct SchedulingTests {
    @Test("a child waits for its parent's create to be acknowledged")
    func childWaitsForParent() async throws {
        let cloud = try CloudHarness()
        try await cloud.responder.setBehaviour("{\"mode\":\"late\",\"delayMs\":800}")
        let parent = CloudHarness.id(1), child = CloudHarness.id(2)
        #expect(try cloud.create(parent, wait: false).status == 0)
        #expect(try cloud.create(child, parent: parent).status == 0)
        let records = try cloud.responder.state().records
        #expect(records.map { $0.properties["parent"] } == [nil, parent])
        // The child's create left only after the parent's ack (delayed 800 ms).
        #expect(records[1].receivedAtMs - records[0].receivedAtMs >= 700)
    }

    @Test("a child of a parent whose create failed fails with parent-failed (exit 3)")
    func parentFailed() async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"300ms\"")
        let parent = CloudHarness.id(1), child = CloudHarness.id(2), grandchild = CloudHarness.id(3)
        try await cloud.responder.setBehaviour("{\"mode\":\"never\"}")
        #expect(try cloud.create(parent, wait: false).status == 0)
        #expect(try cloud.create(child, parent: parent, wait: false).status == 0)
        #expect(try cloud.create(grandchild, parent: child, wait: false).status == 0)
        // The parent's next send gets an error ack.
        try await cloud.responder.setBehaviour("{\"mode\":\"error\",\"error\":\"quota\",\"identities\":[\"\(parent)\"]}")
        _ = try await cloud.waitForStatus("three failures") { $0.failed == 3 }
        for id in [child, grandchild] {
            #expect(try cloud.submit(.get, ControlArguments(id: id)).first?.result?.identity?.lastError == "parent-failed")
        }
        let result = try cloud.agent.cli(["identity", "retry", "--id", grandchild, "--wait"])
        #expect(result.status == 3, "\(result)")
        #expect(result.stdout.contains("parent-failed"))
        let records = try cloud.responder.state().records
        #expect(records.allSatisfy { $0.payload.contains(parent) }, "only the parent's create was sent")
        let refused = try cloud.create(CloudHarness.id(4), parent: parent)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("create failed"))
    }

    @Test("a cascade delete sends the deepest level first, each level acked before the next")
    func cascadeOrder() async throws {
        let cloud = try CloudHarness()
        let root = CloudHarness.id(1), a = CloudHarness.id(2), b = CloudHarness.id(3), a1 = CloudHarness.id(4)
        #expect(try cloud.create(root).status == 0)
        #expect(try cloud.create(a, parent: root).status == 0)
        #expect(try cloud.create(b, parent: root).status == 0)
        #expect(try cloud.create(a1, parent: a).status == 0)
        try await cloud.responder.setBehaviour("{\"mode\":\"late\",\"delayMs\":300}")
        let deleted = try cloud.agent.cli(["identity", "delete", "--id", root, "--cascade", "--wait", "--timeout", "20s"])
        #expect(deleted.status == 0, "\(deleted)")
        let deletes = try cloud.responder.state().records.filter { $0.action == "delete" }
        let order = deletes.map { $0.payload.contains(a1) ? 2 : ($0.payload.contains(root) ? 0 : 1) }
        #expect(order == [2, 1, 1, 0], "grandchild, children, then root: \(deletes.map(\.payload))")
        // Each level waited for the acks (300 ms late) of the level below.
        let byLevel = Dictionary(grouping: zip(order, deletes.map(\.receivedAtMs)), by: \.0)
        #expect(byLevel[1]!.map(\.1).min()! - byLevel[2]!.map(\.1).max()! >= 250)
        #expect(byLevel[0]!.map(\.1).min()! - byLevel[1]!.map(\.1).max()! >= 250)
        #expect(try cloud.responder.state().registry.isEmpty)
    }

    @Test("no ack: resent with the same correlationId and timestamp until acked")
    func retrySameIdentity() async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"300ms\"\nmax_attempts = 5")
        try await cloud.responder.setBehaviour("{\"mode\":\"drop-first-n\",\"n\":2}")
        let result = try cloud.create(CloudHarness.id(9))
        #expect(result.status == 0, "\(result)")
        let records = try cloud.responder.state().records
        #expect(records.count == 3)
        #expect(Set(records.compactMap { $0.properties["correlationId"] }).count == 1)
        #expect(Set(records.compactMap { $0.properties["timestamp"] }).count == 1)
        // Exponential backoff: the second wait is about twice the first.
        let gaps = zip(records.dropFirst(), records).map { $0.receivedAtMs - $1.receivedAtMs }
        #expect(gaps[0] >= 250 && gaps[1] >= 500, "gaps \(gaps)")
    }

    @Test("no ack after max_attempts: failed (no-ack, exit 4), visible until retried or dismissed")
    func maxAttemptsThenRetryAndDismiss() async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"200ms\"\nmax_attempts = 2")
        try await cloud.responder.setBehaviour("{\"mode\":\"never\"}")
        let first = CloudHarness.id(1), second = CloudHarness.id(2)
        let result = try cloud.create(first)
        #expect(result.status == 4, "\(result)")
        #expect(result.stdout.contains("no-ack"))
        #expect(try cloud.create(second).status == 4)
        #expect(try cloud.status().failed == 2)
        let failed = try cloud.agent.cli(["identity", "list", "--state", "failed", "--json"])
        #expect(failed.stdout.contains(first) && failed.stdout.contains(second))

        try await cloud.responder.setBehaviour("{\"mode\":\"success\"}")
        let retried = try cloud.agent.cli(["identity", "retry", "--id", first, "--wait"])
        #expect(retried.status == 0, "\(retried)")
        let correlationIDs = Set(try cloud.responder.state().records.filter { $0.payload.contains(first) }.compactMap { $0.properties["correlationId"] })
        #expect(correlationIDs.count == 1, "a retry keeps the correlationId")

        #expect(try cloud.agent.cli(["identity", "dismiss", "--id", second]).status == 0)
        let status = try cloud.status()
        #expect(status.failed == 0)
        #expect(try cloud.agent.cli(["identity", "dismiss", "--id", first]).status == 2, "only failed requests can be dismissed")
    }

    @Test("updates and deletes of one identity never overtake each other")
    func perIdentityOrder() async throws {
        let cloud = try CloudHarness()
        let id = CloudHarness.id(1)
        try await cloud.responder.setBehaviour("{\"mode\":\"late\",\"delayMs\":200}")
        #expect(try cloud.create(id, wait: false).status == 0)
        for _ in 0..<3 {
            #expect(try cloud.agent.cli(["identity", "update", "--id", id, "--public-key", "-"], stdin: CloudHarness.key).status == 0)
        }
        #expect(try cloud.agent.cli(["identity", "delete", "--id", id, "--wait", "--timeout", "20s"]).status == 0)
        let records = try cloud.responder.state().records
        #expect(records.map(\.action) == ["create", "update", "update", "update", "delete"])
        #expect(zip(records.dropFirst(), records).allSatisfy { $0.receivedAtMs - $1.receivedAtMs >= 150 })
    }
}
