/// The status line and headers of an HTTP/1.1 response (from a proxy, or the WebSocket upgrade).
struct HTTPResponseHead {
    /// Responses with larger heads are refused: a proxy or broker never needs this much.
    static let maxBytes = 16 * 1024

    let status: Int
    let reason: String
    /// Header names lower-cased, in arrival order.
    let headers: [(name: String, value: String)]

    /// Every value of header `name` (case-insensitive), in arrival order.
    func values(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.name == wanted }.map(\.value)
    }

    /// The single value of header `name`, or nil when absent.
    func value(_ name: String) -> String? { values(name).first }

    /// The index just past the blank line that ends the head, if the buffer holds it.
    static func endIndex(in buffer: [UInt8]) -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 3..<buffer.count
        where buffer[index - 3] == 13 && buffer[index - 2] == 10 && buffer[index - 1] == 13 && buffer[index] == 10 {
            return index + 1
        }
        return nil
    }

    /// Parses the head (status line and header lines, up to the blank line); nil when it is not HTTP/1.x.
    init?(_ bytes: ArraySlice<UInt8>) {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true).map(String.init)
        guard !lines.isEmpty else { return nil }
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1])
        else { return nil }
        self.status = status
        self.reason = parts.count == 3 ? Self.printable(String(parts[2])) : ""
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].trimmingWhitespace().lowercased()
            let value = line[line.index(after: colon)...].trimmingWhitespace()
            headers.append((name, value))
        }
        self.headers = headers
    }

    /// Keeps a server-chosen text short and printable before it goes into an error message.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(80).map(Character.init))
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace (spaces, tabs, line breaks).
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}
