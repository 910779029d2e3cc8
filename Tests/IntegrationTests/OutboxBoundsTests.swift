import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// identity.max_queue and identity.max_request_age against the real stack, and the outbox counters.
@Suite("Outbox bounds", .blockingWaits)
struct OutboxBoundsTests {
    @Test("a full outbox refuses a new command with exit 2 and the reason; everything accepted is still sent")
    func fullQueueRefused() async throws {
        // A short ack wait: the agent may publish before the responder is subscribed again.
        let cloud = try CloudHarness(identity: "max_queue = 3\nack_timeout = \"1s\"")
        cloud.broker.stop()
        _ = try await cloud.waitForStatus("disconnected") { $0.connection != "connected" }
        let accepted = (1...3).map { CloudHarness.id($0) }
        for id in accepted { #expect(try cloud.create(id, wait: false).status == 0) }

        let refused = try cloud.create(CloudHarness.id(4), wait: false)
        #expect(refused.status == 2, "\(refused)")
        #expect(refused.stderr.contains("outbox full") && refused.stderr.contains("identity.max_queue is 3"), "\(refused)")
        #expect(try cloud.submit(.get, ControlArguments(id: CloudHarness.id(4))).first?.error?.code == .notFound, "nothing stored")
        let full = try cloud.status()
        #expect(full.queued + full.inFlight == 3 && full.maxQueue == 3 && full.counters?.refused == 1)

        try cloud.broker.start()
        let drained = try await cloud.waitForStatus("all acked", timeout: .seconds(30)) { $0.queued == 0 && $0.inFlight == 0 }
        #expect(Set(try cloud.responder.state().registry.keys) == Set(accepted))
        #expect(drained.failed == 0 && drained.counters?.accepted == 3 && drained.counters?.acked == 3)
        // With room again, the same command is accepted.
        #expect(try cloud.create(CloudHarness.id(4)).status == 0)
    }

    @Test("an operator's retry needs a place in the outbox like a new request")
    func retryRefusedWhenFull() async throws {
        let cloud = try CloudHarness(identity: "max_queue = 1")
        let failed = CloudHarness.id(1)
        try await cloud.responder.setBehaviour("{\"mode\":\"error\",\"error\":\"quota\",\"identities\":[\"\(failed)\"]}")
        #expect(try cloud.create(failed).status == 3)
        cloud.broker.stop()
        _ = try await cloud.waitForStatus("disconnected") { $0.connection != "connected" }
        #expect(try cloud.create(CloudHarness.id(2), wait: false).status == 0)
        let retry = try cloud.agent.cli(["identity", "retry", "--id", failed])
        #expect(retry.status == 2 && retry.stderr.contains("outbox full"), "\(retry)")
        let still = try cloud.status()
        #expect(still.failed == 1 && still.queued == 1 && still.counters?.refused == 1)
    }

    @Test("a request older than max_request_age fails with reason expired and is never sent")
    func queuedRequestExpires() async throws {
        let cloud = try CloudHarness(identity: "max_request_age = \"2s\"")
        cloud.broker.stop()
        _ = try await cloud.waitForStatus("disconnected") { $0.connection != "connected" }
        let parent = CloudHarness.id(1), child = CloudHarness.id(2)
        #expect(try cloud.create(parent, wait: false).status == 0)
        #expect(try cloud.create(child, parent: parent, wait: false).status == 0)
        let expired = try await cloud.waitForStatus("both expired", timeout: .seconds(15)) { $0.failed == 2 }
        #expect(expired.queued == 0 && expired.counters?.expired == 2 && expired.counters?.failed == 2)
        let view = try #require(try cloud.submit(.get, ControlArguments(id: parent)).first?.result?.identity)
        #expect(view.requests?.last?.lastError == "expired" && view.cloudState == "failed")
        #expect(view.requests?.last?.lastErrorMessage?.contains("identity.max_request_age (2s)") == true)
        #expect(cloud.agent.log().contains("request failed"))

        try cloud.broker.start()
        try await cloud.responder.waitForState("responder back", timeout: .seconds(15)) { $0.subscribed }
        _ = try await cloud.waitForStatus("reconnected") { $0.connection == "connected" }
        #expect(try cloud.responder.state().records.isEmpty, "an expired request is not sent")
        // An operator's retry accepts it again: its age counts from the retry.
        let retried = try cloud.agent.cli(["identity", "retry", "--id", parent, "--wait", "--timeout", "20s"])
        #expect(retried.status == 0, "\(retried)")
    }

    @Test("a request in flight expires only when its ack wait ends, after it was sent")
    func inFlightRequestExpiresAtAckDeadline() async throws {
        let cloud = try CloudHarness(identity: "max_request_age = \"2s\"\nack_timeout = \"1s\"\nmax_attempts = 100")
        try await cloud.responder.setBehaviour("{\"mode\":\"never\"}")
        let result = try cloud.create(CloudHarness.id(1))
        #expect(result.status == 4, "no outcome from the cloud: \(result)")
        #expect(result.stdout.contains("expired"))
        let request = try #require(try cloud.submit(.get, ControlArguments(id: CloudHarness.id(1))).first?.result?.identity?.requests?.last)
        #expect(request.lastError == "expired")
        // Sent at 0 s and, after the 1 s ack wait, again; the second wait (2 s) ended past the age limit.
        #expect(request.attempts == 2, "\(request)")
        #expect(try cloud.responder.state().records.count == 2)
    }

    @Test("counters: accepted, published, retried, acked, failed, rejected; kept across a restart")
    func countersSurviveRestart() async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"300ms\"")
        let good = CloudHarness.id(1), bad = CloudHarness.id(2), late = CloudHarness.id(3)
        #expect(try cloud.create(good).status == 0)
        try await cloud.responder.setBehaviour("{\"mode\":\"error\",\"error\":\"quota\",\"identities\":[\"\(bad)\"]}")
        #expect(try cloud.create(bad).status == 3)
        try await cloud.responder.setBehaviour("{\"mode\":\"drop-first-n\",\"n\":1}")
        #expect(try cloud.create(late).status == 0)

        let before = try #require(try cloud.status().counters)
        #expect(before.accepted == 3 && before.acked == 2 && before.failed == 1 && before.rejected == 1 && before.expired == 0)
        #expect(before.published == 4 && before.retried == 1, "\(before)")
        #expect(try cloud.status().ackLatency?.count == 2)

        #expect(cloud.agent.stop() == .exited(0))
        try cloud.agent.start()
        let after = try #require(try cloud.status().counters)
        #expect(after == before, "persisted totals; refused counts since start and was 0")
        let text = try cloud.agent.cli(["status"])
        #expect(text.stdout.contains("totals:       accepted 3, published 4 (1 resent), acked 2, failed 1 (1 rejected, 0 expired)"), "\(text)")
    }

    @Test("declared identities wait for room in a full outbox, then are accepted without a reload")
    func declaredIdentitiesWaitForRoom() async throws {
        // A short ack wait: the agent may publish before the responder is subscribed again.
        let cloud = try CloudHarness(identity: "max_queue = 2\nack_timeout = \"1s\"", start: false)
        cloud.broker.stop()
        for n in 1...4 {
            try cloud.agent.declare("d\(n).toml", DeclaredIdentitiesTests.file(CloudHarness.id(n)))
        }
        try cloud.agent.start()
        _ = try await cloud.waitForStatus("two accepted") { $0.queued + $0.inFlight == 2 }
        #expect(cloud.agent.log().contains("outbox full, declared identities wait for room"))
        try cloud.broker.start()
        let done = try await cloud.waitForStatus("all four acked", timeout: .seconds(30)) {
            $0.counters?.acked == 4 && $0.queued + $0.inFlight == 0
        }
        #expect(done.failed == 0 && done.counters?.accepted == 4)
        #expect(try cloud.responder.state().registry.count == 4)
    }
}
