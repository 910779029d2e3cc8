import Logging
import Synchronization

/// Keeps the log short while something keeps failing, so that a day offline cannot fill the disk.
///
/// The first occurrence of a failure is written as given. Repeats of the same failure are counted and written as
/// one summary line per `interval` ("cannot connect: repeated 143 times in the last 10 min"); at debug level each
/// repeat is written too. Two failures are the same when they have the same `what`, the same `endpoint` and the
/// same `cause` once the words holding digits are masked (ports, delays, counters and request ids change from one
/// attempt to the next).
/// A failure not reported within the interval is written at once, so a new error always shows; one that comes back
/// while still being reported is only counted, so two alternating errors cannot flood the log either.
/// `cleared` (the thing works again) writes what is still pending and forgets, so the next failure is written in full;
/// `recovered` does so in one line that says it works again.
///
/// Summaries are written by the next call after the interval (`failed`, `flushDue`, `cleared`): no timer of its own.
public final class RepeatedFailureLog: Sendable {
    /// The default of `agent.log_repeat_interval`.
    public static let defaultInterval = Duration.seconds(600)

    private struct Entry {
        var what: String
        var endpoint: String
        var cause: String
        var level: Logger.Level
        var metadata: Logger.Metadata
        /// When this failure was last written, in full or as a summary.
        var reportedAt: ContinuousClock.Instant
        /// Occurrences since then.
        var repeats: Int
    }

    /// A line to write once the lock is released.
    private struct Line {
        var level: Logger.Level
        var message: Logger.Message
        var metadata: Logger.Metadata
    }

    private let logger: Logger
    private let interval: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let entries = Mutex<[String: Entry]>([:])

    /// - Parameters:
    ///   - interval: at most one summary line per failure in this time.
    ///   - now: the monotonic clock (tests pass one they move by hand).
    public init(
        logger: Logger, interval: Duration = RepeatedFailureLog.defaultInterval,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.logger = logger
        self.interval = interval
        self.now = now
    }

    /// Reports one occurrence of a failure; true when it was written in full (not counted as a repeat).
    ///
    /// - Parameters:
    ///   - what: what failed, stable from one attempt to the next ("cannot connect"); starts the summary line.
    ///   - endpoint: where, compared as it is (a host, a uid); added to the summary's metadata.
    ///   - cause: why, compared with the words holding digits masked; added to the summary's metadata as `error`.
    ///   - message: the full line for a first occurrence (and the debug line of a repeat); `what` when nil.
    @discardableResult
    public func failed(
        _ what: String, endpoint: String = "", cause: String = "", level: Logger.Level = .warning,
        message: Logger.Message? = nil, metadata: Logger.Metadata = [:]
    ) -> Bool {
        let now = self.now()
        let key = [what, endpoint, Self.signature(of: cause)].joined(separator: "\u{1F}")
        let (lines, first) = entries.withLock { entries -> ([Line], Bool) in
            let lines = sweep(&entries, now: now)
            guard var entry = entries[key] else {
                entries[key] = Entry(
                    what: what, endpoint: endpoint, cause: cause, level: level, metadata: metadata, reportedAt: now,
                    repeats: 0)
                return (lines, true)
            }
            entry.repeats += 1
            entry.level = level
            entry.cause = cause
            entry.metadata = metadata
            entries[key] = entry
            return (lines, false)
        }
        for line in lines { logger.log(level: line.level, line.message, metadata: line.metadata) }
        if first {
            logger.log(level: level, message ?? "\(what)", metadata: metadata)
        } else {
            logger.debug(message ?? "\(what)", metadata: metadata.merging(["repeat": "true"]) { given, _ in given })
        }
        return first
    }

    /// Writes the summaries that are due; for owners that run a loop anyway, so a burst that ended is reported.
    public func flushDue() {
        let now = self.now()
        let lines = entries.withLock { sweep(&$0, now: now) }
        for line in lines { logger.log(level: line.level, line.message, metadata: line.metadata) }
    }

    /// The failures named `what` (all when nil) are over: writes their pending repeats and forgets them.
    public func cleared(_ what: String? = nil) {
        let now = self.now()
        let lines = entries.withLock { entries -> [Line] in
            let over = entries.filter { what == nil || $0.value.what == what }
            for key in over.keys { entries[key] = nil }
            return over.values.filter { $0.repeats > 0 }.map { summary(of: $0, now: now) }
        }
        for line in lines { logger.log(level: line.level, line.message, metadata: line.metadata) }
    }

    /// The failures named `what` are over (the caller knows one was going on): writes `message`, one line counting
    /// in `repeats` the occurrences no line has reported yet, and forgets them.
    public func recovered(
        _ what: String, level: Logger.Level = .notice, message: Logger.Message, metadata: Logger.Metadata = [:]
    ) {
        let unreported = entries.withLock { entries -> Int in
            let over = entries.filter { $0.value.what == what }
            for key in over.keys { entries[key] = nil }
            return over.values.reduce(0) { $0 + $1.repeats }
        }
        logger.log(level: level, message, metadata: metadata.merging(["repeats": "\(unreported)"]) { given, _ in given })
    }

    /// Summaries of the failures whose interval has passed; failures quiet for a whole interval are forgotten.
    private func sweep(_ entries: inout [String: Entry], now: ContinuousClock.Instant) -> [Line] {
        var lines: [Line] = []
        for (key, entry) in entries where now - entry.reportedAt >= interval {
            if entry.repeats == 0 {
                entries[key] = nil
            } else {
                lines.append(summary(of: entry, now: now))
                entries[key]?.repeats = 0
                entries[key]?.reportedAt = now
            }
        }
        return lines
    }

    private func summary(of entry: Entry, now: ContinuousClock.Instant) -> Line {
        var metadata = entry.metadata
        // The endpoint and the cause, unless the caller's metadata already shows them under a name of its own.
        let shown = Set(metadata.values.map { "\($0)" })
        if !entry.endpoint.isEmpty, !shown.contains(entry.endpoint) { metadata["endpoint"] = "\(entry.endpoint)" }
        if !entry.cause.isEmpty, !shown.contains(entry.cause) { metadata["error"] = "\(entry.cause)" }
        let times = entry.repeats == 1 ? "once" : "\(entry.repeats) times"
        return Line(
            level: entry.level,
            message: "\(entry.what): repeated \(times) in the last \(Self.span(now - entry.reportedAt))",
            metadata: metadata)
    }

    /// `cause` with every word that holds a digit replaced by `#`: ports, addresses, delays, counters and request
    /// ids change from one attempt to the next ("port 8883, retry in 1200ms [request id 7f3a-…]" and "port 8883,
    /// retry in 950ms [request id c01d-…]" are the same failure). A word is a run of letters, digits, `-` and `_`.
    static func signature(of cause: String) -> String {
        var result = ""
        var word = ""
        func endWord() {
            result += word.contains(where: \.isNumber) ? "#" : word
            word = ""
        }
        for character in cause {
            if character.isLetter || character.isNumber || character == "-" || character == "_" {
                word.append(character)
            } else {
                endWord()
                result.append(character)
            }
        }
        endWord()
        return result
    }

    /// "45 s", "10 min", "3 h": how an operator reads a span of time in a summary.
    static func span(_ duration: Duration) -> String {
        let seconds = max(1, Int(duration.components.seconds))
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7200 { return "\((seconds + 30) / 60) min" }
        return "\((seconds + 1800) / 3600) h"
    }
}
