import AgentLogging
import Foundation
import Logging
import Testing

@Suite("json lines")
struct JSONFormatTests {
    private func object(_ line: String) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(parsed as? [String: Any])
    }

    @Test("a json line is one object with ts, level, component, msg and the metadata")
    func fields() throws {
        let output = CapturedLines()
        let logger = makeLogger("mqtt", format: .json, level: LogLevelControl(level: .info), output: output)
        logger.warning("reconnecting", metadata: ["delay": "2s", "attempt": .stringConvertible(3)])
        #expect(
            output.lines == [
                #"{"ts":"2024-02-29T12:34:56.789Z","level":"warning","component":"mqtt","msg":"reconnecting","attempt":"3","delay":"2s"}"#
                    + "\n"
            ])
        let fields = try object(output.lines[0])
        #expect(fields["component"] as? String == "mqtt")
    }

    @Test("json lines keep their timestamp and have no priority prefix under journald")
    func journalDoesNotChangeJSON() throws {
        let output = CapturedLines()
        let logger = makeLogger(format: .json, journal: true, level: LogLevelControl(level: .info), output: output)
        logger.info("x")
        #expect(output.lines[0].hasPrefix(#"{"ts":"2024-02-29T12:34:56.789Z""#))
    }

    @Test("control characters, quotes and line separators are escaped and read back unchanged")
    func escaping() throws {
        let output = CapturedLines()
        let logger = makeLogger(format: .json, level: LogLevelControl(level: .info), output: output)
        let tricky = "a\nb\r\"c\"\\d\u{1}\u{2028}é"
        logger.info("\(tricky)", metadata: ["v": "\(tricky)"])
        let line = output.lines[0]
        #expect(line.dropLast().contains("\n") == false)
        #expect(line.contains("\\u2028"))
        let fields = try object(line)
        #expect(fields["msg"] as? String == tricky)
        #expect(fields["v"] as? String == tricky)
    }

    @Test("nested metadata stays nested and reserved names are prefixed with an underscore")
    func nestedAndReserved() throws {
        let output = CapturedLines()
        let logger = makeLogger(format: .json, level: LogLevelControl(level: .info), output: output)
        logger.info("m", metadata: ["peer": ["uid": "0"], "ids": ["a", "b"], "msg": "shadow", "level": "x"])
        let fields = try object(output.lines[0])
        #expect(fields["msg"] as? String == "m")
        #expect(fields["level"] as? String == "info")
        #expect(fields["_msg"] as? String == "shadow")
        #expect(fields["_level"] as? String == "x")
        #expect((fields["peer"] as? [String: String]) == ["uid": "0"])
        #expect((fields["ids"] as? [String]) == ["a", "b"])
    }
}
