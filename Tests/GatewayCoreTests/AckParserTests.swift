import GatewayCore
import Testing

@Suite("Ack parsing")
struct AckParserTests {
    let parser = AckParser(moduleID: try! ModuleID("m1"))
    let cid = "c0ffee00-0000-4000-8000-000000000000"

    func parse(_ topic: String, _ payload: String = "", correlationData: String? = nil) -> Result<Ack, MalformedAck> {
        parser.parse(topic: topic, payload: Array(payload.utf8), correlationData: correlationData.map { Array($0.utf8) })
    }

    @Test("the correlation id comes from the topic property first")
    func topicFirst() throws {
        let ack = try parse("to/module/m1/ack/identity/create&correlationId=\(cid)", "{\"correlationId\":\"other\"}", correlationData: "cd").get()
        #expect(ack.correlationID == cid)
        #expect(ack.action == .create)
        #expect(ack.outcome == .success)
    }

    @Test("then from MQTT 5 correlation data, then from the payload")
    func fallbacks() throws {
        #expect(try parse("to/module/m1/ack/identity/update", "{\"correlationId\":\"p\"}", correlationData: "cd").get().correlationID == "cd")
        #expect(try parse("to/module/m1/ack/identity/delete", "{\"correlationId\":\"p\",\"status\":\"ok\"}").get().correlationID == "p")
    }

    @Test("no payload and success or ok are success")
    func successes() throws {
        for payload in ["", "{\"status\":\"success\"}", "{\"status\":\"OK\"}", "  "] {
            #expect(try parse("to/module/m1/ack/identity/create&correlationId=\(cid)", payload).get().outcome == .success)
        }
    }

    @Test("error, failed, rejected or an error field are failures carrying error and message")
    func failures() throws {
        let topic = "to/module/m1/ack/identity/create&correlationId=\(cid)"
        #expect(try parse(topic, "{\"status\":\"error\",\"error\":\"E1\",\"message\":\"bad key\"}").get().outcome == .failure(error: "E1", message: "bad key"))
        #expect(try parse(topic, "{\"status\":\"rejected\"}").get().outcome == .failure(error: "rejected", message: nil))
        #expect(try parse(topic, "{\"status\":\"failed\",\"message\":\"m\"}").get().outcome == .failure(error: "failed", message: "m"))
        #expect(try parse(topic, "{\"error\":\"DUPLICATE\"}").get().outcome == .failure(error: "DUPLICATE", message: nil))
        #expect(try parse(topic, "{\"status\":\"success\",\"error\":\"X\"}").get().outcome == .failure(error: "X", message: nil))
    }

    @Test("malformed acks are reported, never thrown or crashed on")
    func malformed() {
        let bad = [
            ("to/module/m1/ack/identity/create&correlationId=\(cid)", "{not json"),
            ("to/module/m1/ack/identity/create&correlationId=\(cid)", "[1,2]"),
            ("to/module/m1/ack/identity/create&correlationId=\(cid)", "{\"status\":\"maybe\"}"),
            ("to/module/m1/ack/identity/create&correlationId=%zz", ""),
            ("to/module/m1/ack/identity/create&novalue", ""),
            ("to/module/m1/ack/identity/explode&correlationId=\(cid)", ""),
            ("to/module/other/ack/identity/create&correlationId=\(cid)", ""),
            ("to/module/m1/ack/identity/create/extra", ""),
            ("to/module/m1/ack/identity/create", "{}"),
            ("to/module/m1/ack/identity/create&correlationId=\(cid)", String(repeating: "x", count: WireLimits.maxAckBytes + 1)),
        ]
        for (topic, payload) in bad {
            guard case .failure(let error) = parse(topic, payload) else {
                Issue.record("accepted malformed ack \(topic) \(payload.prefix(40))")
                continue
            }
            #expect(error.topic == topic)
        }
    }

    @Test("random bytes never crash the parser")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let count = Int.random(in: 0..<64, using: &generator)
            let payload = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let data = (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = parser.parse(topic: "to/module/m1/ack/identity/create", payload: payload, correlationData: data)
            _ = parser.parse(topic: "to/module/m1/ack/identity/create&correlationId=\(count)", payload: payload)
        }
    }
}
