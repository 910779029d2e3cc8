import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// Identity v2 over a real broker with the cloud-side responder: round trips and ack handling.
@Suite("Identity v2 round trips", .blockingWaits)
struct IdentityRoundTripTests {
    @Test("create, update and delete each round-trip and change the cloud's registry")
    func eachAction() async throws {
        let cloud = try CloudHarness()
        let id = CloudHarness.id(1)
        #expect(try cloud.create(id).status == 0)
        #expect(try cloud.responder.state().registry[id]?.publicKey == CloudHarness.key)

        let newKey = try TestKeys.publicKey()
        let updated = try cloud.agent.cli(["identity", "update", "--id", id, "--public-key", "-", "--wait"], stdin: newKey)
        #expect(updated.status == 0, "\(updated)")
        #expect(try cloud.responder.state().registry[id]?.publicKey == newKey)

        let deleted = try cloud.agent.cli(["identity", "delete", "--id", id, "--wait"])
        #expect(deleted.status == 0, "\(deleted)")
        #expect(try cloud.responder.state().registry[id] == nil)

        let records = try cloud.responder.state().records
        #expect(records.map(\.action) == ["create", "update", "delete"])
        let delete = records[2]
        #expect(delete.payload == "{\"identity\":\"\(id)\"}")
        // MQTT 5: the same properties as user properties, the correlation id also as correlation data.
        #expect(delete.correlationData == delete.properties["correlationId"])
        #expect(delete.userProperties.first { $0[0] == "correlationId" }?[1] == delete.properties["correlationId"])
        #expect(delete.properties["ack"] == "all")
        #expect(delete.properties["timestamp"]?.hasSuffix("Z") == true)
    }

    @Test("acks are matched by topic property, by correlation data and by payload", arguments: ["topic", "correlation-data", "payload"])
    func ackSources(via: String) async throws {
        let cloud = try CloudHarness()
        try await cloud.responder.setBehaviour("{\"mode\":\"success\",\"ackVia\":\"\(via)\"}")
        let result = try cloud.create(CloudHarness.id(2))
        #expect(result.status == 0, "\(result)")
    }

    @Test("MQTT 3.1.1 works: properties only in the topic")
    func mqtt311() async throws {
        let cloud = try CloudHarness(protocolVersion: "mqtt311")
        #expect(try cloud.create(CloudHarness.id(3)).status == 0)
        let record = try #require(try cloud.responder.state().records.first)
        #expect(record.userProperties.isEmpty)
        #expect(record.correlationData == nil)
    }

    @Test("an error ack fails the request with the cloud's error: exit 3, logged, counted")
    func errorAck() async throws {
        let cloud = try CloudHarness()
        try await cloud.responder.setBehaviour("{\"mode\":\"error\",\"error\":\"invalid-key\",\"message\":\"key rejected\"}")
        let id = CloudHarness.id(4)
        let result = try cloud.create(id)
        #expect(result.status == 3, "\(result)")
        #expect(result.stdout.contains("invalid-key"))
        let got = try cloud.submit(.get, ControlArguments(id: id)).first?.result?.identity
        #expect(got?.state == "failed")
        #expect(got?.lastError == "invalid-key")
        #expect(got?.cloudState == "failed")
        #expect(try cloud.status().failed == 1)
        #expect(cloud.agent.log().contains("request failed"))
        #expect(cloud.agent.log().contains("key rejected"))
    }

    @Test("duplicate and unknown acks are counted and ignored")
    func duplicateAcks() async throws {
        let cloud = try CloudHarness()
        try await cloud.responder.setBehaviour("{\"mode\":\"twice\"}")
        #expect(try cloud.create(CloudHarness.id(5)).status == 0)
        let status = try await cloud.waitForStatus("the second ack") { $0.unknownAcks >= 1 }
        #expect(status.failed == 0)
        #expect(status.connection == "connected")
    }

    @Test("malformed acks are logged with their topic and dropped; the request is acked by a later send", arguments: ["json", "encoding", "oversized"])
    func malformedAcks(kind: String) async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"500ms\"\nmax_attempts = 20")
        try await cloud.responder.setBehaviour("{\"mode\":\"malformed\",\"malformed\":\"\(kind)\"}")
        let id = CloudHarness.id(6)
        #expect(try cloud.create(id, wait: false).status == 0)
        _ = try await cloud.waitForStatus("a malformed ack") { $0.malformedAcks >= 1 }
        #expect(cloud.agent.log().contains("malformed ack dropped"))
        try await cloud.responder.setBehaviour("{\"mode\":\"success\"}")
        _ = try await cloud.waitForStatus("the request acked") { $0.queued == 0 && $0.inFlight == 0 }
        let got = try cloud.submit(.get, ControlArguments(id: id)).first?.result?.identity
        #expect(got?.state == "acked", "\(String(describing: got))\n\(cloud.agent.log().suffix(3000))")
        #expect((got?.requests?.first?.attempts ?? 0) >= 2)
    }

    @Test("property values containing & = / + # % arrive intact")
    func awkwardProperties() async throws {
        let cloud = try CloudHarness()
        let target = "a&b=c/d+e#f%g"
        let context = "zone 3/bay #7 & 50% = full+"
        let result = try cloud.create(CloudHarness.id(7), extra: ["--target", target, "--context", context])
        #expect(result.status == 0, "\(result)")
        let record = try #require(try cloud.responder.state().records.first)
        #expect(record.properties["target"] == target)
        #expect(record.properties["context"] == context)
        #expect(record.userProperties.first { $0[0] == "context" }?[1] == context)
        #expect(record.topic.hasPrefix("from/module/gw1/action/identity/create&"))
    }
}

/// The JSON the CLI prints for scripts: parseable, with the fields DESIGN.md §6 promises.
@Suite("CLI JSON output", .blockingWaits)
struct CLIJSONTests {
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not an object: \(text)")
    }

    @Test("list, get, status and create print the promised fields, null where there is no value")
    func fields() async throws {
        let cloud = try CloudHarness()
        let parent = CloudHarness.id(1), child = CloudHarness.id(2)
        #expect(try cloud.create(parent).status == 0)
        let created = try cloud.agent.cli(
            ["identity", "create", "--id", child, "--parent", parent, "--public-key", "-", "--wait", "--json"], stdin: CloudHarness.key)
        #expect(created.status == 0)
        let outcome = try Self.object(created.stdout)["outcome"] as? [String: Any]
        #expect(outcome?["state"] as? String == "acked")

        let list = try JSONSerialization.jsonObject(with: Data(try cloud.agent.cli(["identity", "list", "--json"]).stdout.utf8)) as? [[String: Any]]
        let gatewayChild = try #require(list?.first { $0["id"] as? String == parent })
        #expect(gatewayChild["parent"] is NSNull, "null parent for the gateway")
        #expect(gatewayChild["lastError"] is NSNull)
        #expect(gatewayChild["state"] as? String == "acked")
        #expect(list?.first { $0["id"] as? String == child }?["parent"] as? String == parent)

        let got = try Self.object(try cloud.agent.cli(["identity", "get", "--id", child, "--json"]).stdout)
        #expect((got["publicKey"] as? String)?.hasPrefix("-----BEGIN PUBLIC KEY-----") == true)
        let requests = got["requests"] as? [[String: Any]] ?? []
        #expect(requests.count == 1)
        for field in ["correlationId", "action", "state", "attempts"] { #expect(requests.first?[field] != nil, "\(field)") }

        let status = try Self.object(try cloud.agent.cli(["status", "--json"]).stdout)
        for field in ["connection", "endpoint", "transport", "credentialsExpireAt", "queued", "inFlight", "failed", "lastError"] {
            #expect(status.keys.contains(field), "status --json lacks \(field)")
        }
        #expect(status["credentialsExpireAt"] is NSNull)
        #expect(status["connection"] as? String == "connected")
    }
}
