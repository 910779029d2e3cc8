import CloudCredentials

/// `clock.*`: this gateway's clock against a server's `Date` header.
enum ClockCheck {
    /// Above this the line warns: signatures still work, but the clock is drifting.
    static let warnAbove: Double = 60
    /// Above this the line fails: AWS IoT refuses presigned URLs signed more than 5 minutes off (SigV4 in general
    /// allows 15); the agent corrects its signing time after a refusal, but certificates and logs stay wrong.
    static let failAbove: Double = 300

    static func result(_ check: String, server: String, skew: ClockSkew) -> CheckResult {
        let text = "this gateway's clock is \(skew) \(server)'s (Date header)"
        let size = abs(skew.seconds)
        if size > failAbove {
            return CheckResult(
                check, .fail,
                "\(text): AWS refuses signatures this far off; set the time and enable NTP (timedatectl set-ntp true)")
        }
        if size > warnAbove {
            return CheckResult(check, .warn, "\(text): enable NTP (timedatectl set-ntp true) before it grows")
        }
        return CheckResult(check, .ok, text)
    }

    static func notMeasured(_ check: String, server: String, why: String) -> CheckResult {
        CheckResult(check, .warn, "not measured: \(why) (see the \(server) line)")
    }
}
