@testable import AgentLogging
import Logging
import Synchronization
import Testing

/// A monotonic clock the test moves by hand, so that hours of outage take no time.
final class TestClock: Sendable {
    private let start = ContinuousClock.now
    private let elapsed = Mutex(Duration.zero)

    var now: @Sendable () -> ContinuousClock.Instant { { self.start + self.elapsed.withLock { $0 } } }

    func advance(_ duration: Duration) { elapsed.withLock { $0 += duration } }
}

@Suite("Repeated failure log")
struct RepeatedFailureLogTests {
    let output = CapturedLines()
    let clock = TestClock()
    let level = LogLevelControl(level: .info)

    func log(interval: Duration = .seconds(600)) -> RepeatedFailureLog {
        RepeatedFailureLog(
            logger: makeLogger("connection", format: .text, level: level, output: output), interval: interval,
            now: clock.now)
    }

    /// One refused connection attempt, with the numbers that change from one attempt to the next.
    func refused(_ failures: RepeatedFailureLog, attempt: Int) {
        failures.failed(
            "cannot connect", endpoint: "broker.example:8883",
            cause: "cannot connect to 192.0.2.\(attempt % 7):8883: Connection refused",
            metadata: ["retry in": "\(attempt * 37 % 1000)ms"])
    }

    @Test("ten minutes of refused connections every second: the first line and one summary per minute")
    func tenMinutesOutage() {
        let failures = log(interval: .seconds(60))
        for attempt in 0..<600 {
            refused(failures, attempt: attempt)
            clock.advance(.seconds(1))
        }
        failures.flushDue()
        let lines = output.lines
        #expect(lines.count == 11, "\(lines.joined(separator: "\n"))")
        #expect(lines.first?.contains("error=") == false)
        #expect(lines.first?.hasSuffix("warning connection: cannot connect retry_in=0ms\n") == true, "\(lines)")
        let summaries = lines.dropFirst()
        #expect(summaries.allSatisfy { $0.contains("cannot connect: repeated ") && $0.contains(" in the last 60 s") })
        #expect(summaries.first?.contains("repeated 59 times") == true, "\(summaries)")
        #expect(summaries.allSatisfy { $0.contains("endpoint=broker.example:8883") && $0.contains("Connection refused") })
        let counted = Self.counts(summaries)
        #expect(counted.reduce(0, +) == 599, "every attempt after the first is in a summary: \(counted)")
    }

    @Test("a day offline with the default interval stays within a few hundred lines")
    func dayOffline() {
        let failures = log()
        for attempt in 0..<(86_400 / 5) {
            refused(failures, attempt: attempt)
            if attempt % 10 == 0 {
                failures.failed("credential refresh failed", cause: "organization endpoint: timed out after 30 s")
            }
            clock.advance(.seconds(5))
        }
        #expect(output.lines.count <= 2 * (1 + 144), "\(output.lines.count) lines")
        #expect(output.lines.count >= 2 * 143)
    }

    @Test("a different error is logged at once; the same error with other numbers is counted")
    func differentErrorLogsAtOnce() {
        let failures = log()
        refused(failures, attempt: 1)
        refused(failures, attempt: 2)
        clock.advance(.seconds(3))
        failures.failed("cannot connect", endpoint: "broker.example:8883", cause: "broker.example: name resolution failed")
        #expect(output.lines.count == 2)
        #expect(output.lines.last?.hasSuffix("warning connection: cannot connect\n") == true, "\(output.lines)")
    }

    @Test("request ids, addresses and status numbers do not make a new error; other words do")
    func signatureMasksWordsWithDigits() {
        #expect(
            RepeatedFailureLog.signature(of: "organization endpoint: HTTP 503 [request id 7f3a9c2e-11aa]")
                == RepeatedFailureLog.signature(of: "organization endpoint: HTTP 502 [request id c01d5e-ff02]"))
        #expect(
            RepeatedFailureLog.signature(of: "cannot connect to 192.0.2.7:8883: Connection refused")
                == "cannot connect to #.#.#.#:#: Connection refused")
        #expect(
            RepeatedFailureLog.signature(of: "name resolution failed")
                != RepeatedFailureLog.signature(of: "Connection refused"))
    }

    @Test("another endpoint with the same error is another failure")
    func endpointsAreCompared() {
        let failures = log()
        failures.failed("cannot connect", endpoint: "a.example:8883", cause: "Connection refused")
        failures.failed("cannot connect", endpoint: "b.example:8883", cause: "Connection refused")
        failures.failed("cannot connect", endpoint: "a.example:8883", cause: "Connection refused")
        #expect(output.lines.count == 2)
    }

    @Test("two alternating errors are each logged once, then counted")
    func alternatingErrors() {
        let failures = log()
        for attempt in 0..<100 {
            let cause = attempt.isMultiple(of: 2) ? "Connection refused" : "name resolution failed"
            failures.failed("cannot connect", endpoint: "broker.example:8883", cause: cause)
            clock.advance(.seconds(1))
        }
        #expect(output.lines.count == 2, "\(output.lines)")
    }

    @Test("when the failure clears, the pending count is written; the next failure is logged in full")
    func clearedWritesPendingAndForgets() {
        let failures = log()
        for attempt in 0..<5 { refused(failures, attempt: attempt) }
        clock.advance(.seconds(90))
        failures.cleared()
        refused(failures, attempt: 6)
        let lines = output.lines
        #expect(lines.count == 3, "\(lines)")
        #expect(lines[1].contains("cannot connect: repeated 4 times in the last 90 s"))
        #expect(lines[2].contains("cannot connect retry_in="))
    }

    @Test("cleared with a name leaves other failures counting")
    func clearedByName() {
        let failures = log()
        failures.failed("credentials marked as refused; fetching new ones", level: .info)
        failures.failed("credential refresh failed", cause: "timed out")
        failures.cleared("credential refresh failed")
        failures.failed("credentials marked as refused; fetching new ones", level: .info)
        failures.failed("credential refresh failed", cause: "timed out")
        #expect(output.lines.count == 3, "\(output.lines)")
    }

    @Test("a failure quiet for a whole interval is logged in full when it comes back")
    func quietFailureIsNewAgain() {
        let failures = log(interval: .seconds(60))
        refused(failures, attempt: 1)
        clock.advance(.seconds(61))
        refused(failures, attempt: 2)
        #expect(output.lines.count == 2)
        #expect(output.lines.allSatisfy { !$0.contains("repeated") })
    }

    @Test("at debug level every repeat is written too, marked as a repeat")
    func debugShowsEveryAttempt() {
        level.setLevel(.debug)
        let failures = log()
        for attempt in 0..<5 { refused(failures, attempt: attempt) }
        let lines = output.lines
        #expect(lines.count == 5)
        #expect(lines.dropFirst().allSatisfy { $0.contains("debug connection: cannot connect") && $0.contains("repeat=true") })
    }

    @Test("the first line is the caller's full message at its level; the answer says whether it was written")
    func firstLineAsGiven() {
        let failures = log()
        let first = failures.failed(
            "credential refresh failed", cause: "HTTP 401", level: .error,
            message: "credential refresh failed: HTTP 401. Replace the token file.")
        let second = failures.failed("credential refresh failed", cause: "HTTP 401", level: .error)
        #expect(first && !second)
        #expect(output.lines.count == 1)
        #expect(output.lines.first?.hasSuffix(" error connection: credential refresh failed: HTTP 401. Replace the token file.\n") == true)
    }

    @Test("a store that cannot record for ten minutes, tried every second: its first error, a count per minute, one line when it works again")
    func recoveredWritesOneLine() {
        let failures = log(interval: .seconds(60))
        let full = "database '/var/lib/gateway-agent/identities.sqlite3': database or disk is full (sqlite code 13)"
        for _ in 0..<600 {
            failures.failed("cannot record sends, holding them", cause: full, level: .error, metadata: ["error": "\(full)"])
            failures.flushDue()
            clock.advance(.milliseconds(1000))
        }
        clock.advance(.seconds(30))
        failures.recovered("cannot record sends, holding them", message: "sends recorded again", metadata: ["pending": "7"])
        let lines = output.lines
        // The summaries fall due at 60, 120, … 540 s; the 60 attempts since the last one are in the recovery line.
        #expect(lines.count == 1 + 9 + 1, "\(lines.joined())")
        #expect(lines.first?.contains(" error connection: cannot record sends, holding them error=") == true, "\(lines)")
        let summaries = lines.dropFirst().dropLast()
        #expect(summaries.allSatisfy { $0.contains(" error connection: cannot record sends, holding them: repeated ") })
        #expect(lines.last?.hasSuffix(" notice connection: sends recorded again pending=7 repeats=60\n") == true, "\(lines)")
        let counted = Self.counts(summaries) + [60]
        #expect(counted.reduce(0, +) == 599, "every attempt after the first is counted once: \(counted)")

        failures.failed("cannot record sends, holding them", cause: full, level: .error)
        #expect(output.lines.count == lines.count + 1, "the next failure is news again, in full")
    }

    /// The numbers N of the "repeated N times" summaries in `lines`.
    static func counts(_ lines: some Sequence<String>) -> [Int] {
        lines.compactMap { line in
            line.split(separator: " ").drop { $0 != "repeated" }.dropFirst().first.flatMap { Int($0) }
        }
    }
}
