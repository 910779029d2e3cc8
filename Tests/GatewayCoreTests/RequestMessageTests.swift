import FoundationEssentials
import GatewayCore
import Testing

@Suite("Request messages")
struct RequestMessageTests {
    let module = try! ModuleID("line-3")
    let identity = IdentityID("5F0C8A1E-1111-4222-8333-944455556666")!
    let parent = IdentityID("9b1e0000-0000-4000-8000-000000000001")!

    @Test("a create topic carries its properties in the documented order")
    func createTopic() {
        let request = IdentityRequest(
            correlationID: "c0ffee00-0000-4000-8000-000000000000", action: .create, identity: identity, parent: parent,
            publicKey: "PEM", target: "t1", context: "ctx")
        let message = RequestMessage(request: request, moduleID: module, timestamp: "2026-11-23T10:15:02.123Z")
        #expect(
            message.topic
                == "from/module/line-3/action/identity/create&correlationId=c0ffee00-0000-4000-8000-000000000000&ack=all&target=t1&context=ctx&timestamp=2026-11-23T10%3A15%3A02.123Z&parent=9b1e0000-0000-4000-8000-000000000001"
        )
        #expect(message.properties.map(\.0) == ["correlationId", "ack", "target", "context", "timestamp", "parent"])
        #expect(message.properties.first { $0.0 == "timestamp" }?.1 == "2026-11-23T10:15:02.123Z")
        #expect(message.correlationData == Array("c0ffee00-0000-4000-8000-000000000000".utf8))
    }

    @Test("the gateway as parent sends no parent property")
    func gatewayParent() {
        let request = IdentityRequest(action: .update, identity: identity, publicKey: "PEM", ack: .none)
        let message = RequestMessage(request: request, moduleID: module, timestamp: "t")
        #expect(!message.topic.contains("parent="))
        #expect(message.topic.contains("&ack=none&"))
    }

    @Test("property values with & = / + # % cannot change the topic structure")
    func percentEncodedValues() {
        let nasty = "a&b=c/d+e#f%g h"
        let request = IdentityRequest(action: .create, identity: identity, publicKey: "PEM", target: nasty, context: "ü/€")
        let message = RequestMessage(request: request, moduleID: module, timestamp: "t")
        #expect(message.topic.contains("&target=a%26b%3Dc%2Fd%2Be%23f%25g%20h&"))
        #expect(message.topic.contains("&context=%C3%BC%2F%E2%82%AC&"))
        #expect(message.topic.split(separator: "/").count == 6)
        #expect(message.properties.first { $0.0 == "target" }?.1 == nasty)
        #expect(PercentEncoding.decode(PercentEncoding.encode(nasty)) == nasty)
    }

    @Test("payloads are the identity and key, or only the identity for delete")
    func payloads() throws {
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkw/+==\n-----END PUBLIC KEY-----\n"
        let create = RequestMessage.payload(identity: identity, publicKey: pem)
        let decoded = try JSONDecoder().decode([String: String].self, from: Data(create))
        #expect(decoded == ["identity": identity.rawValue, "publicKey": pem])
        #expect(String(decoding: RequestMessage.payload(identity: identity, publicKey: nil), as: UTF8.self) == "{\"identity\":\"\(identity.rawValue)\"}")
    }

    @Test("identity ids are stored in canonical lower case")
    func canonicalIDs() {
        #expect(identity.rawValue == "5f0c8a1e-1111-4222-8333-944455556666")
        #expect(IdentityID("not-a-uuid") == nil)
        #expect(IdentityID("") == nil)
    }

    @Test("timestamps are ISO-8601 UTC with milliseconds")
    func timestamps() {
        let text = isoTimestamp(Date(timeIntervalSince1970: 1_795_429_702.5))
        #expect(text.hasSuffix("Z"))
        #expect(text.count == 24)
        #expect(text.contains(".500"))
    }

    @Test("percent-decoding refuses broken escapes and bytes that are not UTF-8")
    func brokenEscapes() {
        #expect(PercentEncoding.decode("%") == nil)
        #expect(PercentEncoding.decode("%4") == nil)
        #expect(PercentEncoding.decode("%zz") == nil)
        #expect(PercentEncoding.decode("%FF") == nil)
        #expect(PercentEncoding.decode("a%20b") == "a b")
    }
}
