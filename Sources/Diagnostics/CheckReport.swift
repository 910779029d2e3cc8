/// Everything `gateway-agent check` found: the lines in a fixed order, the measured values, the exit code.
public struct CheckReport: Sendable, Encodable {
    /// Exit code: no `fail` (warnings allowed).
    public static let exitOK: Int32 = 0
    /// Exit code: at least one `fail`.
    public static let exitFailed: Int32 = 1
    /// Exit code: the configuration is invalid, so nothing else could be checked (as `check-config`).
    public static let exitInvalidConfiguration: Int32 = 2

    public var results: [CheckResult]
    public var facts: CheckFacts
    /// True when the configuration could not be loaded.
    public var configurationInvalid: Bool

    public var worst: CheckStatus { results.map(\.status).max() ?? .ok }

    public var exitCode: Int32 {
        if configurationInvalid { return Self.exitInvalidConfiguration }
        return worst == .fail ? Self.exitFailed : Self.exitOK
    }

    /// The lines, then a summary: `check: 11 ok, 1 warn, 1 fail`.
    public var text: String {
        (results.map(\.line) + [summary]).joined(separator: "\n")
    }

    public var summary: String {
        let count = { (status: CheckStatus) in results.filter { $0.status == status }.count }
        return "check: \(count(.ok)) ok, \(count(.warn)) warn, \(count(.fail)) fail"
    }

    enum CodingKeys: String, CodingKey { case status, exitCode, checks, facts, summary }

    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encode(worst, forKey: .status)
        try keyed.encode(exitCode, forKey: .exitCode)
        try keyed.encode(results, forKey: .checks)
        try keyed.encode(facts, forKey: .facts)
        try keyed.encode(summary, forKey: .summary)
    }
}
