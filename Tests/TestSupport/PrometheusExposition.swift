import Glibc

/// A strict reader of the Prometheus text format 0.0.4, for tests: it throws on anything a scraper could
/// misread (a sample before its `# TYPE`, a name or label that breaks the grammar, a bad escape or value,
/// a family declared twice, histogram buckets out of order, a missing final newline).
public struct PrometheusExposition {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// Values by sample key: `name` or `name{label="value",…}` with labels as written.
    public private(set) var samples: [String: Double] = [:]
    /// Family types by name.
    public private(set) var types: [String: String] = [:]

    public init(_ text: String) throws {
        guard text.hasSuffix("\n") else { throw Problem(description: "the exposition does not end with a newline") }
        var helps: Set<String> = []
        var lastBucket: (family: String, le: Double, count: Double)?
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            func fail(_ why: String) -> Problem { Problem(description: "line \(number + 1): \(why): \(line)") }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 3, parts[0] == "#" else { continue }
                guard Self.isMetricName(parts[2]) else { throw fail("bad metric name") }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                        throw fail("bad type")
                    }
                    guard types[parts[2]] == nil else { throw fail("family declared twice") }
                    types[parts[2]] = parts[3]
                } else if parts[1] == "HELP" {
                    guard helps.insert(parts[2]).inserted else { throw fail("second HELP") }
                    guard types[parts[2]] == nil else { throw fail("HELP after TYPE's samples") }
                }
                continue
            }
            guard !line.isEmpty else { throw fail("empty line") }
            let (name, labels, rest) = try Self.splitSample(String(line), fail)
            let family = Self.family(of: name, types: types)
            guard let type = types[family] else { throw fail("sample before its # TYPE") }
            let valueText = rest.split(separator: " ", omittingEmptySubsequences: false)
            guard valueText.count == 1 || valueText.count == 2, let value = Self.value(String(valueText[0])) else {
                throw fail("bad value")
            }
            if type == "counter", !(value >= 0) { throw fail("negative counter") }
            if name.hasSuffix("_bucket") {
                guard let le = labels.first(where: { $0.0 == "le" }).flatMap({ Self.value($0.1) }) else { throw fail("bucket without le") }
                if let last = lastBucket, last.family == family {
                    guard le > last.le, value >= last.count else { throw fail("buckets not ascending and cumulative") }
                }
                lastBucket = (family, le, value)
            }
            let key = labels.isEmpty ? name : name + "{" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
            guard samples[key] == nil else { throw fail("duplicate sample") }
            samples[key] = value
        }
    }

    public subscript(_ key: String) -> Double? { samples[key] }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first == ":" || first.properties.isAlphabetic && first.isASCII else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0 == ":" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }

    private static func family(of name: String, types: [String: String]) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { return base }
        }
        return name
    }

    private static func splitSample(_ line: String, _ fail: (String) -> Problem) throws -> (String, [(String, String)], Substring) {
        let scalars = Array(line.unicodeScalars)
        var index = 0
        while index < scalars.count, scalars[index] != "{", scalars[index] != " " { index += 1 }
        let name = String(String.UnicodeScalarView(scalars[..<index]))
        guard isMetricName(name) else { throw fail("bad metric name") }
        var labels: [(String, String)] = []
        if index < scalars.count, scalars[index] == "{" {
            index += 1
            while index < scalars.count, scalars[index] != "}" {
                var labelName = ""
                while index < scalars.count, scalars[index] != "=" { labelName.unicodeScalars.append(scalars[index]); index += 1 }
                guard isMetricName(labelName), !labelName.contains(":"), index + 1 < scalars.count, scalars[index + 1] == "\"" else {
                    throw fail("bad label")
                }
                index += 2
                var value = ""
                while index < scalars.count, scalars[index] != "\"" {
                    if scalars[index] == "\\" {
                        guard index + 1 < scalars.count, ["\\", "\"", "n"].contains(scalars[index + 1]) else { throw fail("bad escape") }
                        value += scalars[index + 1] == "n" ? "\n" : String(scalars[index + 1])
                        index += 2
                    } else {
                        value.unicodeScalars.append(scalars[index])
                        index += 1
                    }
                }
                guard index < scalars.count else { throw fail("unterminated label value") }
                index += 1
                labels.append((labelName, value))
                if index < scalars.count, scalars[index] == "," { index += 1 }
            }
            guard index < scalars.count else { throw fail("unterminated labels") }
            index += 1
        }
        guard index < scalars.count, scalars[index] == " " else { throw fail("no value") }
        let rest = line.unicodeScalars.dropFirst(index + 1)
        return (name, labels, Substring(String(String.UnicodeScalarView(rest))))
    }

    private static func value(_ text: String) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default:
            guard !text.isEmpty, text.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }) else { return nil }
            return Double(text)
        }
    }
}

/// One plain HTTP/1.1 exchange with 127.0.0.1:`port`: the status code, the head and the body.
public func httpExchange(port: Int, request: String) throws -> (status: Int, head: String, body: String) {
    let fd = try connectLoopback(port: port)
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let bytes = Array(request.utf8)
    guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw ChildProcessError("send failed") }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = recv(fd, &buffer, buffer.count, 0)
        if count <= 0 { break }
        answer += buffer[..<count]
    }
    let text = String(decoding: answer, as: UTF8.self)
    guard let split = text.firstRange(of: "\r\n\r\n") else { throw ChildProcessError("no HTTP head in: \(text.prefix(200))") }
    let head = String(text[..<split.lowerBound])
    let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return (status, head, String(text[split.upperBound...]))
}

/// `GET path` on 127.0.0.1:`port`.
public func httpGet(port: Int, path: String = "/metrics") throws -> (status: Int, head: String, body: String) {
    try httpExchange(port: port, request: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
}

/// A TCP connection to 127.0.0.1:`port`; the caller closes it.
public func connectLoopback(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw ChildProcessError("socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        let reason = String(cString: strerror(errno))
        close(fd)
        throw ChildProcessError("connect to port \(port): \(reason)")
    }
    return fd
}
