import ControlProtocol
import Testing

@testable import Agent

@Suite("Client quota")
struct ClientQuotaTests {
    @Test("a uid at its request limit is refused busy; another uid is not; a finished request frees a slot")
    func requestsPerUID() {
        let quota = ClientQuota(maxRequests: 2)
        #expect(quota.beginRequest(uid: 1000) == nil)
        #expect(quota.beginRequest(uid: 1000) == nil)
        let busy = quota.beginRequest(uid: 1000)
        #expect(busy?.code == .busy)
        #expect(busy?.message == "uid 1000 already has 2 requests in progress (agent.control_max_requests_per_client)")
        #expect(quota.beginRequest(uid: 0) == nil, "root has a quota of its own, like any uid")
        quota.endRequest(uid: 1000)
        #expect(quota.beginRequest(uid: 1000) == nil)
    }

    @Test("a uid may keep twice its request limit of connections open, within the server's own limit")
    func connectionsPerUID() {
        let quota = ClientQuota(maxRequests: 3)
        for _ in 0..<6 { #expect(quota.openConnection(uid: 7) == nil) }
        #expect(quota.openConnection(uid: 7)?.message == "uid 7 already has 6 connections open to the agent; close idle ones")
        quota.closeConnection(uid: 7)
        #expect(quota.openConnection(uid: 7) == nil)
        #expect(ClientQuota(maxRequests: 128).maxConnections == ControlServer.maxConnections)
    }

    @Test("a uid that holds nothing any more is forgotten")
    func releasedUIDsAreForgotten() {
        let quota = ClientQuota(maxRequests: 1)
        #expect(quota.openConnection(uid: 5) == nil)
        #expect(quota.beginRequest(uid: 5) == nil)
        quota.endRequest(uid: 5)
        #expect(quota.clientCount == 1)
        quota.closeConnection(uid: 5)
        #expect(quota.clientCount == 0)
    }
}
