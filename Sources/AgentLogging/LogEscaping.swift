/// Escaping that keeps one event on one line whatever the message or metadata holds (no log injection).
enum LogEscaping {
    /// `text` with control characters (newlines included) written as `\n`, `\r`, `\t` or `\u00XX`.
    static func escapingControls(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                result += controlEscape(scalar)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// A `key=value` value: bare when it is a plain word, otherwise in double quotes with `\` and `"` escaped too.
    static func textValue(_ value: String) -> String {
        guard needsQuotes(value) else { return value }
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            default:
                if isControl(scalar) {
                    result += controlEscape(scalar)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// A metadata key as written in text lines: anything but `[A-Za-z0-9_.-]` becomes `_`, so a key can never
    /// contain a space, `=` or a newline.
    static func textKey(_ key: String) -> String {
        // Keys are almost always clean already; checking is cheaper than rebuilding them.
        if !key.isEmpty, key.utf8.allSatisfy({ $0 < 0x80 && isKeyScalar(Unicode.Scalar($0)) }) { return key }
        let cleaned = String(String.UnicodeScalarView(key.unicodeScalars.map { isKeyScalar($0) ? $0 : "_" }))
        return cleaned.isEmpty ? "_" : cleaned
    }

    /// `value` as a JSON string literal, quotes included (RFC 8259 escaping; U+2028/2029 escaped too).
    static func jsonString(_ value: String) -> String {
        var result = "\""
        result.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\u{2028}", "\u{2029}": result += hexEscape(scalar)
            default:
                if isControl(scalar) {
                    result += controlEscape(scalar)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    private static func needsQuotes(_ value: String) -> Bool {
        value.isEmpty
            || value.unicodeScalars.contains { scalar in
                scalar == "\"" || scalar == "\\" || scalar == "=" || scalar == " " || isControl(scalar)
                    // ASCII whitespace other than the space is a control character; only the rest needs Unicode's
                    // tables, whose lookup per character was a fifth of the cost of a log line.
                    || (!scalar.isASCII && scalar.properties.isWhitespace)
            }
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0)
    }

    private static func isKeyScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", ".", "-": return true
        default: return false
        }
    }

    private static func controlEscape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default: return hexEscape(scalar)
        }
    }

    private static func hexEscape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
