/// How one check came out.
public enum CheckStatus: String, Sendable, Codable, Comparable {
    case ok, warn, fail

    public static func < (lhs: CheckStatus, rhs: CheckStatus) -> Bool {
        let order: [CheckStatus] = [.ok, .warn, .fail]
        return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
    }
}

/// One line of `gateway-agent check`: what was checked, how it came out, and (for warn and fail) what to do.
public struct CheckResult: Sendable, Equatable, Codable {
    /// Stable name for scripts, e.g. `clock.organization`, `broker.tls`.
    public let check: String
    public let status: CheckStatus
    /// What was found and, unless ok, what to do. Never holds a secret.
    public let message: String

    public init(_ check: String, _ status: CheckStatus, _ message: String) {
        self.check = check
        self.status = status
        self.message = message
    }

    /// `fail  broker.tls: …`: the status padded so that the names line up.
    public var line: String {
        status.rawValue.padding(to: 5) + check + ": " + message
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
