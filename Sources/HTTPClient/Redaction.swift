/// Removes secrets from text that libcurl or a caller produced before it goes into an error.
enum Redaction {
    /// `text` with the user information of every `scheme://user:password@host` replaced by `***`.
    static func userInfo(in text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let scheme = rest.firstRange(of: "://") {
            out += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authority = rest.prefix(while: { !" /?#'\"\n".contains($0) })
            if let at = authority.lastIndex(of: "@") {
                out += "***"
                rest = rest[at...]
            }
        }
        return out + rest
    }

    /// `text` without user information and without any of `secrets` (or their password part).
    static func scrub(_ text: String, secrets: [String?]) -> String {
        var result = userInfo(in: text)
        for case let secret? in secrets where !secret.isEmpty {
            result = result.replacing(secret, with: "***")
            if let colon = secret.firstIndex(of: ":") {
                let password = secret[secret.index(after: colon)...]
                if password.count >= 4 { result = result.replacing(password, with: "***") }
            }
        }
        return result
    }
}
