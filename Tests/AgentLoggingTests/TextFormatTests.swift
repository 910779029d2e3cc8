import AgentLogging
import Logging
import Testing

@Suite("text lines")
struct TextFormatTests {
    @Test("a text line outside the journal starts with an ISO-8601 timestamp and sorts metadata by key")
    func textLineWithTimestamp() {
        let output = CapturedLines()
        let logger = makeLogger(format: .text, level: LogLevelControl(level: .info), output: output)
        logger.info("connected", metadata: ["transport": "mqtt-tls", "endpoint": "broker.local:8883"])
        #expect(
            output.lines == [
                "2024-02-29T12:34:56.789Z info agent: connected endpoint=broker.local:8883 transport=mqtt-tls\n"
            ])
    }

    @Test("under journald a text line carries the syslog priority and no timestamp of its own")
    func journalLine() {
        let output = CapturedLines()
        let logger = makeLogger(format: .text, journal: true, level: LogLevelControl(level: .trace), output: output)
        logger.trace("t")
        logger.debug("d")
        logger.info("i")
        logger.notice("n")
        logger.warning("w")
        logger.error("e")
        logger.critical("c")
        #expect(
            output.lines == [
                "<7>trace agent: t\n", "<7>debug agent: d\n", "<6>info agent: i\n", "<5>notice agent: n\n",
                "<4>warning agent: w\n", "<3>error agent: e\n", "<2>critical agent: c\n",
            ])
    }

    @Test("values with spaces, quotes, equals signs or nothing at all are quoted and escaped")
    func quotedValues() {
        let output = CapturedLines()
        let logger = makeLogger(format: .text, journal: true, level: LogLevelControl(level: .info), output: output)
        logger.info(
            "m", metadata: ["a": "two words", "b": "say \"hi\"", "c": "k=v", "d": "", "e": "back\\slash", "f": "plain"])
        #expect(
            output.lines == [
                #"<6>info agent: m a="two words" b="say \"hi\"" c="k=v" d="" e="back\\slash" f=plain"# + "\n"
            ])
    }

    @Test("newlines in a message or a value cannot start a second line")
    func newlinesAreEscaped() {
        let output = CapturedLines()
        let logger = makeLogger(format: .text, journal: true, level: LogLevelControl(level: .info), output: output)
        logger.info("line one\nerror agent: forged", metadata: ["topic": "a\r\nb\u{1B}[31m"])
        let line = output.lines[0]
        #expect(line == #"<6>info agent: line one\nerror agent: forged topic="a\r\nb\u001b[31m""# + "\n")
        #expect(line.filter { $0 == "\n" || $0 == "\r\n" }.count == 1)
    }

    @Test("metadata keys cannot contain spaces, equals signs or newlines")
    func keysAreCleaned() {
        let output = CapturedLines()
        let logger = makeLogger(format: .text, journal: true, level: LogLevelControl(level: .info), output: output)
        logger.info("m", metadata: ["bad key=\n": "v"])
        #expect(output.lines == ["<6>info agent: m bad_key__=v\n"])
    }

    @Test("nested metadata becomes dotted keys and arrays one bracketed value")
    func nestedMetadata() {
        let output = CapturedLines()
        let logger = makeLogger(format: .text, journal: true, level: LogLevelControl(level: .info), output: output)
        logger.info("m", metadata: ["peer": ["uid": "0", "pid": "42"], "ids": ["a", "b"]])
        #expect(output.lines == ["<6>info agent: m ids=[a,b] peer.pid=42 peer.uid=0\n"])
    }

    @Test("logger metadata, then provider metadata, then the event's own metadata win in that order")
    func metadataPrecedence() {
        let output = CapturedLines()
        let provider = Logger.MetadataProvider { ["source": "provider", "task": "t1"] }
        var logger = Logger(label: "store") { label in
            AgentLogHandler(
                label: label, format: .text, journal: true, levelControl: LogLevelControl(level: .info),
                output: output, metadataProvider: provider)
        }
        logger[metadataKey: "source"] = "logger"
        logger[metadataKey: "db"] = "agent.sqlite"
        logger.info("opened", metadata: ["task": "event"])
        #expect(output.lines == ["<6>info store: opened db=agent.sqlite source=provider task=event\n"])
    }

    @Test("an error passed with the event is written as error=")
    func errorIsWritten() {
        struct DiskFull: Error, CustomStringConvertible {
            var description: String { "disk full on /var/lib/gateway-agent" }
        }
        let output = CapturedLines()
        let logger = makeLogger(format: .text, journal: true, level: LogLevelControl(level: .info), output: output)
        logger.error("commit failed", error: DiskFull())
        #expect(output.lines == [#"<3>error agent: commit failed error="disk full on /var/lib/gateway-agent""# + "\n"])
    }
}
