import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// identities.d: the agent reconciles the declared identities on start and on SIGHUP.
@Suite("identities.d", .blockingWaits)
struct DeclaredIdentitiesTests {
    static func file(_ id: String, parent: String? = nil, key: String = CloudHarness.key) -> String {
        var text = "id = \"\(id)\"\npublic_key = \"\"\"\n\(key)\"\"\"\n"
        if let parent { text += "parent = \"\(parent)\"\n" }
        return text
    }

    /// Sends SIGHUP and waits until the agent logged one more reconcile.
    static func reload(_ cloud: CloudHarness) async throws {
        let before = cloud.agent.log().components(separatedBy: "identities.d reconciled").count
        cloud.agent.reload()
        let deadline = ContinuousClock.now + .seconds(10)
        while cloud.agent.log().components(separatedBy: "identities.d reconciled").count == before {
            guard ContinuousClock.now < deadline else { throw ChildProcessError("no reconcile after SIGHUP") }
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = try await cloud.waitForStatus("requests done") { $0.queued == 0 && $0.inFlight == 0 }
    }

    @Test("on start: parent and child created in order; a bad file is reported and skipped, the others apply")
    func createOnStart() async throws {
        let cloud = try CloudHarness(start: false)
        let parent = CloudHarness.id(1), child = CloudHarness.id(2)
        try cloud.agent.declare("b-child.toml", Self.file(child, parent: parent))
        try cloud.agent.declare("a-parent.toml", Self.file(parent))
        try cloud.agent.declare("c-broken.toml", "id = \"not-a-uuid\"\npublic_key = \"x\"\ncolour = 3\n")
        try cloud.agent.start()
        _ = try await cloud.responder.waitForState("both created") { $0.registry.count == 2 }
        let records = try cloud.responder.state().records
        #expect(records.map { $0.properties["parent"] } == [nil, parent], "parent first")
        let log = cloud.agent.log()
        #expect(log.contains("c-broken.toml"))
        #expect(log.contains("colour"))
        let listed = try cloud.submit(.list, ControlArguments()).first?.result?.identities ?? []
        #expect(Set(listed.compactMap(\.origin)) == ["file:a-parent.toml", "file:b-child.toml"])
    }

    @Test("reconcile is idempotent; a changed key is updated; a removed file is deleted only with prune")
    func changesAndPrune() async throws {
        for prune in [false, true] {
            let cloud = try CloudHarness(agent: "prune_identities = \(prune)", start: false)
            let a = CloudHarness.id(1), b = CloudHarness.id(2)
            try cloud.agent.declare("a.toml", Self.file(a))
            try cloud.agent.declare("b.toml", Self.file(b))
            try cloud.agent.start()
            _ = try await cloud.responder.waitForState("created") { $0.registry.count == 2 }
            _ = try await cloud.waitForStatus("acked") { $0.queued == 0 && $0.inFlight == 0 }

            try await Self.reload(cloud)
            #expect(try cloud.responder.state().records.count == 2, "a second run sends nothing")

            let newKey = try TestKeys.publicKey()
            try cloud.agent.declare("a.toml", Self.file(a, key: newKey))
            try await Self.reload(cloud)
            #expect(try cloud.responder.state().registry[a]?.publicKey == newKey)
            #expect(try cloud.responder.state().records.last?.action == "update")

            unlink(cloud.agent.identitiesDir + "/b.toml")
            try await Self.reload(cloud)
            let registry = try cloud.responder.state().registry
            #expect((registry[b] == nil) == prune, "prune = \(prune)")
            #expect(registry[a] != nil)
        }
    }
}
