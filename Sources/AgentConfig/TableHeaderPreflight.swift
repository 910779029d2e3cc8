/// Finds the one syntax error TOMLKit cannot be given: a table header whose name starts with a character no key
/// starts with (`[=`, `[#`, a `[` ending its line). TOMLKit's parser (toml++) asserts on it, aborting the whole
/// process, instead of reporting it (found by fuzz/run, target fuzz-config).
///
/// Only what toml++ reads as a table header counts: a `[` (or `[[`) opening a line, outside multi-line strings and
/// outside the brackets and braces of a value.
enum TableHeaderPreflight {
    /// The byte offset of the first character that cannot start the name of a table header, or nil.
    static func badHeaderName(in bytes: [UInt8]) -> Int? {
        var scanner = Scanner(bytes: bytes)
        // toml++ skips a UTF-8 byte order mark; the first line starts after it.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { scanner.index = 3 }
        return scanner.run()
    }

    private enum State {
        case normal, comment, basic, literal, multiLineBasic, multiLineLiteral
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var state = State.normal
        /// Open `[` and `{` of values.
        var depth = 0
        /// Only spaces and tabs since the line began.
        var lineStart = true

        mutating func run() -> Int? {
            while index < bytes.count {
                let byte = bytes[index]
                if byte == newline, state != .multiLineBasic, state != .multiLineLiteral {
                    state = .normal
                    lineStart = true
                    index += 1
                    continue
                }
                switch state {
                case .comment:
                    index += 1
                case .basic:
                    index += byte == backslash ? 2 : 1
                    if byte == doubleQuote { state = .normal }
                case .literal:
                    index += 1
                    if byte == singleQuote { state = .normal }
                case .multiLineBasic:
                    if byte == backslash {
                        index += 2
                    } else if closes(doubleQuote) {
                        state = .normal
                    } else {
                        index += 1
                    }
                case .multiLineLiteral:
                    if closes(singleQuote) { state = .normal } else { index += 1 }
                case .normal:
                    if let bad = normal(byte) { return bad }
                }
            }
            return nil
        }

        /// One byte outside strings and comments; the offset of a bad header name if it starts one.
        private mutating func normal(_ byte: UInt8) -> Int? {
            if byte == space || byte == tab || byte == carriageReturn {
                index += 1
                return nil
            }
            defer { lineStart = false }
            switch byte {
            case hash:
                state = .comment
                index += 1
            case doubleQuote, singleQuote:
                let tripled = index + 2 < bytes.count && bytes[index + 1] == byte && bytes[index + 2] == byte
                state = byte == doubleQuote
                    ? (tripled ? .multiLineBasic : .basic) : (tripled ? .multiLineLiteral : .literal)
                index += tripled ? 3 : 1
            case openBracket where lineStart && depth == 0:
                if let bad = headerName(after: index) { return bad }
                // The rest of the header line is toml++'s to judge; a quoted name may hold brackets.
                while index < bytes.count, bytes[index] != newline { index += 1 }
            case openBracket, openBrace:
                depth += 1
                index += 1
            case closeBracket, closeBrace:
                depth = max(0, depth - 1)
                index += 1
            default:
                index += 1
            }
            return nil
        }

        /// For a header opening at `start`: the offset of its name's first character when toml++ would assert on it.
        private func headerName(after start: Int) -> Int? {
            var position = skipBlanks(from: start + 1)
            guard position < bytes.count else { return nil }
            if bytes[position] == openBracket {
                // `[ [` is an error toml++ reports itself.
                guard position == start + 1 else { return nil }
                position = skipBlanks(from: position + 1)
                guard position < bytes.count else { return nil }
            }
            let first = bytes[position]
            let startsName =
                first == closeBracket || first == doubleQuote || first == singleQuote || first == underscore
                || first == hyphen || (0x30...0x39).contains(first) || (0x41...0x5A).contains(first)
                || (0x61...0x7A).contains(first)
            return startsName ? nil : position
        }

        private func skipBlanks(from start: Int) -> Int {
            var position = start
            while position < bytes.count, bytes[position] == space || bytes[position] == tab { position += 1 }
            return position
        }

        /// Whether three `quote`s start at `index`; if so, moves past them and up to two more (`""""` ends with a
        /// quote inside the string).
        private mutating func closes(_ quote: UInt8) -> Bool {
            guard index + 2 < bytes.count, bytes[index] == quote, bytes[index + 1] == quote, bytes[index + 2] == quote
            else { return false }
            index += 3
            var extra = 0
            while extra < 2, index < bytes.count, bytes[index] == quote {
                index += 1
                extra += 1
            }
            return true
        }
    }
}

private let newline = UInt8(ascii: "\n")
private let carriageReturn = UInt8(ascii: "\r")
private let space = UInt8(ascii: " ")
private let tab = UInt8(ascii: "\t")
private let hash = UInt8(ascii: "#")
private let backslash = UInt8(ascii: "\\")
private let doubleQuote = UInt8(ascii: "\"")
private let singleQuote = UInt8(ascii: "'")
private let openBracket = UInt8(ascii: "[")
private let closeBracket = UInt8(ascii: "]")
private let openBrace = UInt8(ascii: "{")
private let closeBrace = UInt8(ascii: "}")
private let underscore = UInt8(ascii: "_")
private let hyphen = UInt8(ascii: "-")
