import GatewayCore
import Testing

@Suite("Input validation")
struct ValidationTests {
    let module = try! ModuleID("gw")
    let identity = IdentityID.random()

    var validator: RequestValidator {
        RequestValidator(moduleID: module) { (pem: String) throws(ValidationError) in
            if pem != "GOOD" { throw ValidationError(field: "publicKey", rule: "not a key") }
        }
    }

    @Test("module ids allow only characters that cannot change a topic")
    func moduleIDs() {
        #expect(throws: ValidationError.self) { try ModuleID("") }
        #expect(throws: ValidationError.self) { try ModuleID("a/b") }
        #expect(throws: ValidationError.self) { try ModuleID("a+b") }
        #expect(throws: ValidationError.self) { try ModuleID("a#") }
        #expect(throws: ValidationError.self) { try ModuleID(String(repeating: "a", count: 65)) }
        #expect((try? ModuleID("Line_3.a-b")) != nil)
    }

    @Test("a create needs a public key that the key check accepts")
    func createNeedsKey() {
        #expect(throws: ValidationError(field: "publicKey", rule: "is required to create an identity")) {
            try validator.validate(IdentityRequest(action: .create, identity: identity))
        }
        #expect(throws: ValidationError(field: "publicKey", rule: "not a key")) {
            try validator.validate(IdentityRequest(action: .create, identity: identity, publicKey: "BAD"))
        }
        #expect(throws: Never.self) { try validator.validate(IdentityRequest(action: .create, identity: identity, publicKey: "GOOD")) }
    }

    @Test("an identity cannot be its own parent")
    func ownParent() {
        #expect(throws: ValidationError.self) {
            try validator.validate(IdentityRequest(action: .create, identity: identity, parent: identity, publicKey: "GOOD"))
        }
    }

    @Test("target and context must fit a topic and hold no control characters")
    func properties() {
        for bad in ["", "a\nb", String(repeating: "x", count: 129)] {
            #expect(throws: ValidationError.self) {
                try validator.validate(IdentityRequest(action: .delete, identity: identity, target: bad))
            }
        }
    }

    @Test("a topic longer than 256 bytes is refused before it is stored")
    func topicLength() {
        let long = String(repeating: "%", count: 60)  // each becomes %25: 180 bytes
        #expect(throws: ValidationError.self) {
            try validator.validate(IdentityRequest(action: .delete, identity: identity, target: long))
        }
    }

    @Test("a payload over 128 KB is refused")
    func payloadSize() {
        let huge = RequestValidator(moduleID: module) { (_: String) throws(ValidationError) in }
        #expect(throws: ValidationError.self) {
            try huge.validate(IdentityRequest(action: .create, identity: identity, publicKey: String(repeating: "A", count: 140_000)))
        }
    }

    @Test("durations are an integer and a unit")
    func durations() {
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("30s") == .seconds(30))
        #expect(DurationText.parse("5m") == .seconds(300))
        #expect(DurationText.parse("1h") == .seconds(3600))
        #expect(DurationText.parse("2d") == .seconds(172_800))
        for bad in ["", "5", "s", "1.5s", "-1s", "5 m", "10y", "99999999999999s"] {
            #expect(DurationText.parse(bad) == nil, "\(bad)")
        }
        #expect(DurationText.format(.seconds(300)) == "5m")
        #expect(DurationText.format(.milliseconds(1500)) == "1500ms")
    }
}
