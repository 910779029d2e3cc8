import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// The real agent on `aws-websocket` with organization credentials, against the fake organization endpoint,
/// the fake AWS IoT gateway (presigned URLs verified as AWS does) and a real mosquitto behind it.
@Suite("aws-websocket end to end", .blockingWaits)
struct AWSWebSocketTests {
    @Test("configured only with organization id, base URL and token, the agent round-trips create, update and delete")
    func roundTrip() async throws {
        let stack = try AWSWebSocketStack()
        try await stack.start()
        let status = try stack.status()
        #expect(status.transport == "aws-websocket")
        #expect(status.credentialSource == "organization")
        let shown = try #require(status.credentialsExpireAt.flatMap(parseDate))
        let issuedExpiry = try #require(stack.issued().first.flatMap { parseDate($0.expiration) })
        #expect(abs(shown.timeIntervalSince(issuedExpiry)) <= 0.0015, "\(shown) vs \(issuedExpiry)")

        let id = CloudHarness.id(1)
        let created = try stack.create(id)
        #expect(created.status == 0, "\(created)")
        #expect(try stack.responder.state().registry[id]?.publicKey == CloudHarness.key)
        let newKey = try TestKeys.publicKey()
        let updated = try stack.agent.cli(["identity", "update", "--id", id, "--public-key", "-", "--wait"], stdin: newKey)
        #expect(updated.status == 0, "\(updated)")
        #expect(try stack.responder.state().registry[id]?.publicKey == newKey)
        let deleted = try stack.agent.cli(["identity", "delete", "--id", id, "--wait"])
        #expect(deleted.status == 0, "\(deleted)")
        #expect(try stack.responder.state().registry[id] == nil)
        #expect(try stack.responder.state().records.map(\.action) == ["create", "update", "delete"])

        let accepted = stack.gateway.accepted
        #expect(accepted.count == 1, "\(stack.gateway.events)")
        #expect(accepted.first?.accessKeyID == AWSWebSocketStack.accessKeyID(1))
        #expect(accepted.first?.host == "localhost:\(stack.gateway.port)")
        let requests = stack.organization.requests(stack.organizationID)
        #expect(requests.count == 1)
        #expect(requests.first?.authorization == "Bearer \(stack.token)")
        #expect(try stack.leakedSecrets().isEmpty)

        // SIGTERM: MQTT DISCONNECT, then the WebSocket close handshake, then exit 0.
        #expect(stack.agent.stop() == .exited(0))
        #expect(stack.broker.log().contains("Received DISCONNECT from gateway-agent-gw1"))
        let ended = try await stack.gateway.waitForEvents("the connection closed") { $0.contains { $0.kind == "ended" } }
        // The agent's close frame, or the gateway's own once the broker closed after DISCONNECT: never a drop.
        #expect(["close frame 1000", "broker closed"].contains(ended.last?.reason ?? ""), "\(ended)")
        #expect(stack.tunnelSockets.isEmpty)
    }

    @Test(
        "an upgrade refused with 403 (revoked key, wrong signature) makes the agent fetch fresh credentials and connect",
        arguments: ["revoke", "mismatch"])
    func refusedUpgrade(how: String) async throws {
        let stack = try AWSWebSocketStack()
        try await stack.start()
        if how == "revoke" {
            try stack.gateway.revoke()
        } else {
            try stack.gateway.mismatchSignatures()
            try stack.gateway.drop()
        }
        let events = try await stack.gateway.waitForEvents("a second key accepted") {
            $0.filter { $0.kind == "accepted" }.count >= 2
        }
        let refused = events.filter { $0.kind == "refused" }
        // One refusal is enough: the refused credentials are never presented again.
        #expect(refused.count == 1, "\(events)")
        #expect(refused.first?.status == 403)
        #expect(refused.first?.accessKeyID == AWSWebSocketStack.accessKeyID(1))
        #expect(refused.first?.reason == (how == "revoke" ? "revoked access key" : "signature mismatch"))
        #expect(events.last { $0.kind == "accepted" }?.accessKeyID == AWSWebSocketStack.accessKeyID(2))
        #expect(stack.organization.requests(stack.organizationID).count == 2)

        _ = try await stack.waitForStatus("reconnected") { $0.connection == "connected" }
        let created = try stack.create(CloudHarness.id(2))
        #expect(created.status == 0, "\(created)")
        #expect(try stack.leakedSecrets().isEmpty)
        // The refused attempt's socket is gone; the live one was removed once libmosquitto connected.
        #expect(stack.tunnelSockets.isEmpty)
    }

    @Test("credentials are refreshed while connected: status shows the new expiry, the connection stays, no secret shows")
    func refreshWhileConnected() async throws {
        // Refreshed 1 s before expiry, but not before half the 4 s lifetime: at about 3 s.
        let stack = try AWSWebSocketStack(plan: [AWSWebSocketStack.credentials(lifetime: 4)], refreshBefore: "1s")
        try await stack.start()
        let first = try #require(try stack.status().credentialsExpireAt)
        let status = try await stack.waitForStatus("the refreshed expiry", timeout: .seconds(15)) {
            $0.credentialsExpireAt != nil && $0.credentialsExpireAt != first
        }
        let issued = stack.issued()
        #expect(issued.count >= 2)
        // Within a millisecond: status truncates to milliseconds what the agent parsed into a binary fraction.
        #expect(
            status.credentialsExpireAt.flatMap(parseDate).map { shown in
                issued.dropFirst().contains { parseDate($0.expiration).map { abs($0.timeIntervalSince(shown)) <= 0.0015 } == true }
            } == true, "\(String(describing: status.credentialsExpireAt)) not among \(issued.map(\.expiration))")
        #expect(status.connection == "connected")

        // AWS keeps a connection open after the credentials that opened it expire.
        let firstExpiry = try #require(parseDate(issued[0].expiration))
        let wait = firstExpiry.timeIntervalSinceNow + 0.3
        if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
        let created = try stack.create(CloudHarness.id(3))
        #expect(created.status == 0, "\(created)")
        #expect(stack.gateway.accepted.count == 1, "\(stack.gateway.events)")
        #expect(stack.agent.log().contains("credentials obtained"))
        #expect(try stack.leakedSecrets().isEmpty)
    }

    @Test(
        "after a forced disconnect the agent reconnects with fresh credentials and a new signature, resending what was not acked",
        arguments: ["drop", "close"])
    func forcedDisconnect(how: String) async throws {
        // 40 s credentials: held ones expiring within a minute are replaced before every reconnect. The ack timeout
        // is long, so only the reconnect can make the agent send a request again.
        let stack = try AWSWebSocketStack(
            plan: [AWSWebSocketStack.credentials(lifetime: 40)], identity: "ack_timeout = \"60s\"")
        try await stack.start()
        try await stack.responder.setBehaviour("{\"mode\":\"never\"}")
        let ids = (10..<14).map { CloudHarness.id($0) }
        for id in ids {
            let result = try stack.create(id, wait: false)
            #expect(result.status == 0, "\(result)")
        }
        try await stack.responder.waitForState("every request received") { $0.records.count == ids.count }
        _ = try await stack.waitForStatus("all in flight") { $0.inFlight == ids.count }
        try await stack.responder.setBehaviour("{\"mode\":\"success\"}")
        // Credentials obtained less than a second ago are reused even when they expire within a minute.
        let obtained = try #require(stack.organization.requests(stack.organizationID).first?.time)
        let settle = obtained.timeIntervalSinceNow + 1.5
        if settle > 0 { try await Task.sleep(for: .milliseconds(Int(settle * 1000))) }

        let dropped = how == "drop" ? try stack.gateway.drop() : try stack.gateway.closeAll()
        #expect(dropped == 1)
        _ = try await stack.waitForStatus("everything acked after the reconnect") {
            $0.connection == "connected" && $0.queued == 0 && $0.inFlight == 0
        }
        let state = try stack.responder.state()
        #expect(Set(state.registry.keys) == Set(ids))
        #expect(state.requestCounts.values.allSatisfy { $0 == 2 }, "\(state.requestCounts)")
        #expect(try stack.status().failed == 0)

        let accepted = stack.gateway.accepted
        #expect(accepted.count == 2, "\(stack.gateway.events)")
        // The reconnect signs with a later set than the first: the second, or a later one when a busy machine made
        // a reconnect attempt fail after the agent had fetched it.
        #expect(accepted.first?.accessKeyID == AWSWebSocketStack.accessKeyID(1), "\(stack.gateway.events)")
        let laterSets: [String?] = (2...6).map(AWSWebSocketStack.accessKeyID)
        #expect(accepted.count == 2 && laterSets.contains(accepted[1].accessKeyID), "\(stack.gateway.events)")
        #expect(accepted.count == 2 && accepted[0].signature != accepted[1].signature)
        #expect(stack.gateway.refused.isEmpty)
        #expect(try stack.leakedSecrets().isEmpty)
    }

    @Test(
        "through an authenticating HTTP CONNECT proxy, from [proxy] url or HTTPS_PROXY: organization endpoint and WebSocket both use it",
        arguments: ["config", "environment"])
    func throughProxy(from: String) async throws {
        // The shared endpoint and certificates first: they are made with Foundation's Process, whose pipes a child
        // spawned meanwhile (the proxy) would inherit and hold open, so that their creation never ends.
        _ = try FakeOrganizationEndpoint.shared.get()
        _ = try TestCertificates.shared()
        let password = "proxy-pass-\(UUID().uuidString.prefix(8))"
        let proxy = try await ConnectProxyFixture(requireAuth: "gateway:\(password)")
        let stack: AWSWebSocketStack
        if from == "config" {
            stack = try AWSWebSocketStack(
                proxyURL: "http://127.0.0.1:\(proxy.port)", proxyCredentials: "gateway:\(password)")
            try await stack.start()
        } else {
            stack = try AWSWebSocketStack()
            try await stack.start(environment: ["HTTPS_PROXY": "http://gateway:\(password)@127.0.0.1:\(proxy.port)"])
        }
        let created = try stack.create(CloudHarness.id(20))
        #expect(created.status == 0, "\(created)")

        let events = proxy.events
        #expect(events.contains("CONNECT localhost:\(stack.gateway.port) auth=ok"), "\(events)")
        let endpointPort = try #require(URL(string: stack.organization.baseURL)?.port)
        #expect(events.contains("CONNECT 127.0.0.1:\(endpointPort) auth=ok"), "\(events)")
        #expect(events.allSatisfy { $0.hasSuffix("auth=ok") }, "\(events)")
        #expect(stack.gateway.accepted.first?.host == "localhost:\(stack.gateway.port)")
        #expect(!stack.agent.log().contains(password))
        #expect(try stack.leakedSecrets().isEmpty)
    }

    @Test("hosts in NO_PROXY are reached directly, for the organization endpoint and the WebSocket alike")
    func noProxy() async throws {
        let stack = try AWSWebSocketStack()
        // Nothing listens on the proxy's port: a connection through it would fail.
        try await stack.start(environment: [
            "HTTPS_PROXY": "http://127.0.0.1:\(unusedLoopbackPort())", "NO_PROXY": "localhost,127.0.0.1",
        ])
        let created = try stack.create(CloudHarness.id(21))
        #expect(created.status == 0, "\(created)")
    }

    @Test("an organization endpoint outage (503, then hanging) during a reconnect: the agent keeps retrying, recovers unattended, loses nothing")
    func organizationOutage() async throws {
        let stack = try AWSWebSocketStack(requestTimeout: "1s")
        try await stack.start()
        stack.organization.plan(
            stack.organizationID,
            [
                .reply(
                    status: 503, body: "{\"error\":\"ServiceUnavailable\",\"message\":\"down for maintenance\"}",
                    headers: ["Retry-After": "1"])
            ])
        // Revoked: the held credentials are refused, so the reconnect needs new ones from the endpoint that is down.
        try stack.gateway.revoke()
        let ids = (30..<33).map { CloudHarness.id($0) }
        for id in ids {
            let result = try stack.create(id, wait: false)
            #expect(result.status == 0, "\(result)")
        }
        try await stack.waitForOrganizationRequests(3)
        stack.organization.plan(stack.organizationID, [.hang])
        try await stack.waitForOrganizationRequests(4)
        let during = try stack.status()
        #expect(during.connection != "connected")
        #expect(during.queued + during.inFlight == ids.count)

        stack.organization.plan(stack.organizationID, [AWSWebSocketStack.credentials()])
        _ = try await stack.waitForStatus("recovered with everything acked", timeout: .seconds(40)) {
            $0.connection == "connected" && $0.queued == 0 && $0.inFlight == 0
        }
        let state = try stack.responder.state()
        #expect(Set(state.registry.keys) == Set(ids))
        #expect(try stack.status().failed == 0)

        let events = stack.gateway.events
        let refused = events.filter { $0.kind == "refused" }
        #expect(refused.count == 1, "\(events)")
        #expect(refused.first?.accessKeyID == AWSWebSocketStack.accessKeyID(1))
        let accepted = events.filter { $0.kind == "accepted" }
        #expect(accepted.count == 2, "\(events)")
        let requests = stack.organization.requests(stack.organizationID)
        #expect(accepted.last?.accessKeyID == AWSWebSocketStack.accessKeyID(requests.count))
        #expect(stack.agent.log().contains("credential refresh failed"))
        #expect(try stack.leakedSecrets().isEmpty)
        #expect(stack.tunnelSockets.isEmpty)
    }

    @Test("SIGTERM while the organization endpoint hangs stops the agent at once, with exit status 0")
    func stopWhileEndpointHangs() async throws {
        let stack = try AWSWebSocketStack(plan: [.hang])
        try stack.agent.start(environment: ["HTTPS_PROXY": "", "https_proxy": ""])
        try await stack.waitForOrganizationRequests(1)
        let started = ContinuousClock.now
        #expect(stack.agent.stop(timeout: .seconds(10)) == .exited(0))
        // Far sooner than the hanging request's timeout; the margin is for a busy CI machine.
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}

/// An ISO 8601 timestamp with or without fractional seconds, rounded to the millisecond.
func parseDate(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    guard let date = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text) else { return nil }
    return Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
}
