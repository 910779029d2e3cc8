/// Turns text that came from elsewhere (a server's error body, a library's message) into something safe to put
/// in an error: no secrets, no control characters, bounded length.
enum ServerText {
    /// The longest piece of server text kept in a message.
    static let limit = 300

    /// `text` with every secret replaced by `***`, control characters and runs of white space turned into
    /// one space, and cut to `limit` characters.
    static func clean(_ text: some StringProtocol, secrets: [String]) -> String {
        var collapsed = ""
        var pendingSpace = false
        for scalar in scrub(String(text), secrets: secrets).unicodeScalars {
            if scalar.properties.isWhitespace || scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                pendingSpace = !collapsed.isEmpty
                continue
            }
            if pendingSpace {
                collapsed += " "
                pendingSpace = false
            }
            collapsed.unicodeScalars.append(scalar)
        }
        return collapsed.count > limit ? String(collapsed.prefix(limit)) + "…" : collapsed
    }

    /// `text` with every non-empty secret replaced by `***`.
    static func scrub(_ text: String, secrets: [String]) -> String {
        var result = text
        for secret in secrets where !secret.isEmpty {
            result = result.replacing(secret, with: "***")
        }
        return result
    }

    /// `value` quoted for a message, cut to 64 characters; only for values that are not secret.
    static func quoted(_ value: some StringProtocol) -> String {
        let cleaned = clean(value, secrets: [])
        return "\"" + (cleaned.count > 64 ? String(cleaned.prefix(64)) + "…" : cleaned) + "\""
    }

    /// `url` without the `user:password@` of its authority.
    static func withoutUserInfo(_ url: String) -> String {
        guard let scheme = url.firstRange(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + "***" + String(rest[at...])
    }
}
