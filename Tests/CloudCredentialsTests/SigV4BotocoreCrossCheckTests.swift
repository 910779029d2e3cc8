import CloudCredentials
import Foundation
import TestSupport
import Testing

/// The Swift signer against botocore (the AWS SDK for Python) on random inputs.
@Suite("SigV4 agrees with botocore", .blockingWaits)
struct SigV4BotocoreCrossCheckTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sigv4_botocore.py")

    @Test("presigned WebSocket URLs match botocore's for 30 random credentials, regions, hosts, ports and dates")
    func webSocketURLs() throws {
        var random = SeededRandom()
        var cases: [[String: Any]] = []
        var expected: [String] = []
        for _ in 0..<30 {
            let credentials = random.credentials()
            let host = random.hostName()
            let port = random.element(of: [443, 443, 8443, random.int(in: 1...65535)])
            let region = random.region()
            let seconds = random.int(in: 946_684_800...4_102_444_799)
            var item: [String: Any] = [
                "kind": "websocket", "host": host, "port": port, "region": region, "date": seconds,
                "accessKeyID": credentials.accessKeyID, "secretAccessKey": credentials.secretAccessKey,
            ]
            item["sessionToken"] = credentials.sessionToken
            cases.append(item)
            expected.append(
                SigV4.presignedWebSocketURL(
                    host: host, port: port, region: region, credentials: credentials,
                    date: Date(timeIntervalSince1970: TimeInterval(seconds))))
        }
        let results = try Self.botocore(cases)
        for (index, result) in results.enumerated() {
            #expect(result["url"] as? String == expected[index], "case \(index), seed \(random.seed): \(cases[index])")
        }
    }

    @Test("signed headers match botocore's for 30 random requests with paths, queries, headers and bodies")
    func signedHeaders() throws {
        var random = SeededRandom()
        var cases: [[String: Any]] = []
        var expected: [[(String, String)]] = []
        for _ in 0..<30 {
            let credentials = random.credentials()
            let method = random.element(of: ["GET", "POST", "PUT", "DELETE"])
            let host = random.bool() ? random.hostName() : "\(random.hostName()):\(random.int(in: 1...65535))"
            let path = random.path()
            let query = (0..<random.int(in: 0...4)).map { _ in (random.text(0...8), random.text(0...12)) }
            let headers = random.headers()
            let body = (0..<random.int(in: 0...64)).map { _ in UInt8(random.int(in: 0...255)) }
            let region = random.region()
            let service = random.element(of: ["sts", "iot", "execute-api", "service"])
            let seconds = random.int(in: 946_684_800...4_102_444_799)
            var item: [String: Any] = [
                "kind": "headers", "method": method, "host": host, "path": path,
                "query": query.map { [$0.0, $0.1] }, "headers": headers.map { [$0.0, $0.1] },
                "body": Data(body).base64EncodedString(), "region": region, "service": service, "date": seconds,
                "accessKeyID": credentials.accessKeyID, "secretAccessKey": credentials.secretAccessKey,
            ]
            item["sessionToken"] = credentials.sessionToken
            cases.append(item)
            expected.append(
                SigV4.sign(
                    method: method, host: host, path: path, query: query, headers: headers, body: body,
                    region: region, service: service, credentials: credentials,
                    date: Date(timeIntervalSince1970: TimeInterval(seconds))))
        }
        let results = try Self.botocore(cases)
        for (index, result) in results.enumerated() {
            let theirs = (result["headers"] as? [[String]] ?? []).map { $0.joined(separator: ": ") }
            let ours = expected[index].map { "\($0.0): \($0.1)" }
            #expect(ours == theirs, "case \(index), seed \(random.seed): \(cases[index])")
        }
    }

    /// Runs the botocore fixture on `cases`; one result object per case.
    static func botocore(_ cases: [[String: Any]]) throws -> [[String: Any]] {
        let input = String(decoding: try JSONSerialization.data(withJSONObject: ["cases": cases]), as: UTF8.self)
        let outcome = try ChildProcess.run(TestExecutables.python3, [script.path], stdin: input)
        if outcome.termination == .exited(3) {
            Issue.record("SigV4 cannot be cross-checked: \(outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
            return []
        }
        try #require(outcome.succeeded, "python3 \(script.path) failed: \(outcome.stderr)")
        let data = Data(outcome.stdout.utf8)
        let results = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        try #require(results.count == cases.count)
        return results
    }
}

/// Random request parts for the cross-check (the generator itself is TestSupport's).
extension SeededRandom {
    mutating func string(_ alphabet: String, _ length: ClosedRange<Int>) -> String {
        let characters = Array(alphabet)
        return String((0..<int(in: length)).map { _ in element(of: characters) })
    }

    /// Text that exercises percent-encoding: reserved characters, spaces, non-ASCII.
    mutating func text(_ length: ClosedRange<Int>) -> String {
        string("abcXYZ019-._~ /+=&?%#:@!$'()*,;é€ሴ", length)
    }

    mutating func credentials() -> AWSCredentials {
        let base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        return AWSCredentials(
            accessKeyID: element(of: ["AKIA", "ASIA"]) + string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16...16),
            secretAccessKey: string(base64, 40...40),
            sessionToken: bool() ? string(base64 + "=", 20...300) : nil)
    }

    mutating func hostName() -> String {
        string("abcdefghijklmnopqrstuvwxyz0123456789", 6...14) + "-ats.iot."
            + region() + ".amazonaws.com"
    }

    mutating func region() -> String {
        element(of: ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1", "eu-central-2"])
    }

    /// A path without `.` or `..` segments or doubled slashes, which AWS would normalize first.
    mutating func path() -> String {
        let segments = (0..<int(in: 0...3)).map { _ in string("abcXYZ019-_~ é€ሴ!$'()*,;:@=+", 1...10) }
        return "/" + segments.joined(separator: "/") + (bool() && !segments.isEmpty ? "/" : "")
    }

    mutating func headers() -> [(String, String)] {
        let names = ["Content-Type", "X-Amz-Target", "My-Header", "x-custom-thing", "Accept", "X-Amz-Meta-Note"]
        var chosen: [(String, String)] = []
        for name in names where bool() {
            chosen.append((name, string("abc XYZ 019 ;,=/\"", 0...20)))
        }
        return chosen
    }
}
