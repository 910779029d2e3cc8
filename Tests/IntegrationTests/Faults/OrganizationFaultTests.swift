import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// The organization endpoint fails while the agent (aws-websocket) needs new credentials to reconnect, or rotates
/// credentials under a stream of requests. Endpoint outages of 503 and hanging are in `AWSWebSocketTests`.
@Suite("Faults: organization endpoint", .serialized, .blockingWaits)
struct OrganizationFaultTests {
    @Test("500, a hang, garbage, and expired credentials while reconnecting: the agent keeps retrying and loses nothing")
    func failingEndpointDuringReconnect() async throws {
        let stack = try AWSWebSocketStack(
            requestTimeout: "1s", identity: "ack_timeout = \"2s\"\nmax_inflight = 50\nmax_publish_rate = 100")
        try await stack.start()
        let ledger = FaultLedger("organization-reconnect")
        // The first answer was used at start; the reconnect gets each fault once, then good credentials.
        stack.organization.plan(
            stack.organizationID,
            [
                AWSWebSocketStack.credentials(),
                .reply(status: 200, body: "<html>upstream deploy in progress</html>"),
                .credentials(lifetime: -60, iotEndpoint: "localhost"),
                .reply(status: 500, body: "{\"error\":\"InternalError\"}"),
                .hang,
                AWSWebSocketStack.credentials(),
            ])
        let submission = ledger.startSubmitting(faultIDs(FaultScale.requests(300), group: 0x0f31), to: stack.agent.socketPath)
        try await Task.sleep(for: .milliseconds(300))
        expectMidStream(try stack.status(), ledger)
        // Revoked: the held credentials are refused, so the reconnect needs new ones from the failing endpoint.
        try stack.gateway.revoke()
        ledger.injected(4)
        try await submission.finish()
        _ = try await stack.waitForStatus("recovered with everything acked", timeout: .seconds(90)) {
            $0.connection == "connected" && $0.queued == 0 && $0.inFlight == 0
        }
        #expect(stack.organization.requests(stack.organizationID).count == 6)
        try ledger.verify(responder: stack.responder, agent: stack.agent)
        #expect(try stack.status().failed == 0)
        let log = stack.agent.log()
        for reason in ["not valid JSON", "is already past", "temporarily unavailable"] where !log.contains(reason) {
            Issue.record("the log does not name \"\(reason)\":\n\(log.suffix(3000))")
        }
        #expect(try stack.leakedSecrets().isEmpty)
    }

    @Test("credentials rotated every ~3 s under a stream of requests: one connection throughout, nothing lost")
    func rotationWhileConnected() async throws {
        let stack = try AWSWebSocketStack(
            plan: [AWSWebSocketStack.credentials(lifetime: 4)], refreshBefore: "1s",
            identity: "ack_timeout = \"2s\"\nmax_inflight = 20\nmax_publish_rate = 60")
        try await stack.start()
        let ledger = FaultLedger("organization-rotation")
        try await ledger.startSubmitting(faultIDs(FaultScale.requests(600), group: 0x0f32), to: stack.agent.socketPath)
            .finish()
        _ = try await stack.waitForStatus("everything acked", timeout: .seconds(90)) { $0.queued == 0 && $0.inFlight == 0 }
        let rotations = stack.issued().count - 1
        ledger.injected(rotations)
        #expect(rotations >= 2, "the stream outlived at least two credential lifetimes")
        #expect(stack.gateway.accepted.count == 1, "\(stack.gateway.events)")
        try ledger.verify(responder: stack.responder, agent: stack.agent)
        #expect(try stack.leakedSecrets().isEmpty)
    }
}
