/// Checks on URLs written in the configuration (without Foundation's URL, which accepts far more).
enum URLText {
    /// Why `text` is not a `scheme://host[:port][/path]` URL with one of `schemes`, or nil.
    /// Never echoes a URL holding a user name or password.
    static func problem(_ text: String, schemes: [String], credentialsKey: String? = nil) -> String? {
        guard let separator = text.firstRange(of: "://") else { return "got \(quoted(text)), which has no scheme" }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard schemes.contains(scheme) else { return "got scheme \(quoted(scheme))" }
        let rest = text[separator.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.contains("@") {
            let hint = credentialsKey.map { "; put them in \($0)" } ?? ""
            return "the URL must not hold a user name or password\(hint)"
        }
        if text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            return "got \(quoted(text)), which contains spaces or control characters"
        }
        guard case .success = HostPort.parse(String(authority)) else { return "got \(quoted(text)), which has no valid host" }
        return nil
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
enum HostPort {
    /// The host (without brackets) and the port if one was given; or why the text is not one.
    static func parse(_ text: String) -> Result<(host: String, port: Int?), HostPortProblem> {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(.host) }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(.host) }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                return .failure(.host)
            }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return .failure(.host) }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
            guard isHostName(host) else { return .failure(.host) }
        }
        guard let portText else { return .success((String(host), nil)) }
        guard let port = Int(portText), (1...65535).contains(port), portText.allSatisfy(\.isASCII) else {
            return .failure(.port)
        }
        return .success((String(host), port))
    }

    /// DNS names and IPv4 addresses: letters, digits, `-` and `.`, labels of 1–63, at most 253 in all.
    static func isHostName(_ host: Substring) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-")
                && label.unicodeScalars.allSatisfy {
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
                }
        }
    }

    /// `host` ready to be put before `:port` (IPv6 in brackets).
    static func format(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// Which part of a `host:port` is wrong.
enum HostPortProblem: Error {
    case host, port
}
