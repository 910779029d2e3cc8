import AgentConfig
import Testing

@Suite("Durations")
struct DurationTests {
    @Test("durations are strings with a unit: ms, s, m, h, d", arguments: [
        ("500ms", Duration.milliseconds(500)), ("30s", .seconds(30)), ("5m", .seconds(300)),
        ("1h", .seconds(3600)), ("2d", .seconds(172_800)),
    ])
    func durationUnits(text: String, expected: Duration) throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "[identity]\nack_timeout = \"\(text)\"\n"))
        #expect(try fixture.load().identity.ackTimeout == expected)
    }

    @Test("a duration without a unit or with a space is rejected with the expected form",
        arguments: ["30", "30 s", "thirty seconds", "1.5h", "-5s", ""])
    func malformedDurations(text: String) throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "[identity]\nack_timeout = \"\(text)\"\n"))
        let problems = fixture.problems()
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("\(fixture.mainPath):identity.ack_timeout: expected a duration such as") == true)
    }

    @Test("a bare number for a duration is a wrong type, with the string to write instead")
    func bareNumberIsWrongType() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "connect_timeout = 10\n"))
        let problems = fixture.problems()
        #expect(problems.count == 1)
        #expect(problems.first?.contains("broker.connect_timeout: wrong type:") == true)
        #expect(problems.first?.contains("\"10s\"") == true)
    }

    @Test("a zero timeout is rejected")
    func zeroTimeoutRejected() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "connect_timeout = \"0s\"\n"))
        #expect(fixture.problems().first?.contains("broker.connect_timeout: expected") == true)
    }

    @Test("keepalive must lie between 30s and 1200s, in whole seconds", arguments: [
        ("29s", false), ("30s", true), ("1200s", true), ("20m", true), ("1201s", false), ("30500ms", false),
    ])
    func keepaliveRange(text: String, valid: Bool) throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "keepalive = \"\(text)\"\n"))
        let problems = fixture.problems()
        #expect(problems.isEmpty == valid)
        if !valid { #expect(problems.first?.contains("broker.keepalive: expected") == true) }
    }

    @Test("assume-role duration must lie between 15m and 12h")
    func assumeRoleDurationRange() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "[credentials.assume_role]\nduration = \"13h\"\n"))
        #expect(fixture.problems() == [
            "\(fixture.mainPath):credentials.assume_role.duration: expected a duration from \"15m\" to \"12h\", got \"13h\""
        ])
    }
}
