import AgentLogging
import Logging
import Testing

@Suite("log levels")
struct LevelTests {
    @Test("events below the configured level are dropped")
    func filtering() {
        let output = CapturedLines()
        let logger = makeLogger(format: .text, journal: true, level: LogLevelControl(level: .warning), output: output)
        logger.info("hidden")
        logger.warning("shown")
        logger.error("shown too")
        #expect(output.lines == ["<4>warning agent: shown\n", "<3>error agent: shown too\n"])
    }

    @Test("changing the shared level reaches loggers that already exist")
    func runtimeChange() {
        let output = CapturedLines()
        let control = LogLevelControl(level: .info)
        let logger = makeLogger(format: .text, journal: true, level: control, output: output)
        let other = makeLogger("store", format: .text, journal: true, level: control, output: output)
        logger.debug("before")
        control.setLevel(.debug)
        #expect(control.level == .debug)
        logger.debug("after")
        other.debug("other")
        control.setLevel(.error)
        logger.warning("quiet again")
        #expect(output.lines == ["<7>debug agent: after\n", "<7>debug store: other\n"])
    }

    @Test("a logger given its own level keeps it when the shared level changes")
    func pinnedLevel() {
        let output = CapturedLines()
        let control = LogLevelControl(level: .info)
        var logger = makeLogger(format: .text, journal: true, level: control, output: output)
        logger.logLevel = .error
        control.setLevel(.trace)
        logger.info("hidden")
        #expect(logger.logLevel == .error)
        #expect(output.lines.isEmpty)
    }

    @Test("the control holds every level")
    func everyLevel() {
        let control = LogLevelControl(level: .critical)
        for level in Logger.Level.allCases {
            control.setLevel(level)
            #expect(control.level == level)
        }
    }
}
