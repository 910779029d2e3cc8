import Foundation
import HTTPClient
import Testing

@testable import CloudCredentials

@Suite("Timestamps, Retry-After, error bodies and STS XML")
struct ParsingTests {
    static let reference = Date(timeIntervalSince1970: 1_704_067_200)  // 2024-01-01T00:00:00Z

    @Test("ISO-8601 times with or without fractional seconds, with Z or an offset, parse to the same instant")
    func isoAccepted() {
        let cases: [(String, Double)] = [
            ("2024-01-01T00:00:00Z", 0), ("2024-01-01T00:00:00.000Z", 0), ("2024-01-01T00:00:00.5Z", 0.5),
            ("2024-01-01T00:00:00.123456Z", 0.123456), ("2024-01-01T02:00:00+02:00", 0),
            ("2023-12-31T19:00:00-05:00", 0), ("2024-01-01t00:00:00z", 0), ("2024-02-29T00:00:00Z", 59 * 86_400),
        ]
        for (text, offset) in cases {
            let date = Timestamps.iso8601(text)
            #expect(date.map { abs($0.timeIntervalSince(Self.reference) - offset) < 0.000_01 } == true, "\(text)")
        }
    }

    @Test(
        "anything else is refused",
        arguments: [
            "", "2024-01-01", "2024-01-01T00:00:00", "2024-01-01 00:00:00Z", "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00Z junk", "2024-01-01T00:00:00+0200", "24-01-01T00:00:00Z",
            "tomorrow", "1704067200",
        ])
    func isoRefused(_ text: String) {
        #expect(Timestamps.iso8601(text) == nil)
    }

    @Test("day counting agrees with the SigV4 calendar over four centuries")
    func daysRoundTrip() {
        for days in stride(from: -200_000, through: 200_000, by: 97) {
            let (year, month, day) = SigV4Timestamp.civilDate(daysSinceEpoch: Int64(days))
            #expect(Timestamps.daysSinceEpoch(year: Int(year), month: Int(month), day: Int(day)) == days)
        }
    }

    @Test("Retry-After in seconds or as an HTTP date; anything else is ignored")
    func retryAfter() {
        let now = Date(timeIntervalSince1970: 784_111_747)  // Sun, 06 Nov 1994 08:49:07 GMT
        #expect(RetryAfter.parse("120", now: now) == .seconds(120))
        #expect(RetryAfter.parse(" 0 ", now: now) == .zero)
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .seconds(30))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:48:37 GMT", now: now) == .zero)
        for text in [nil, "", "-5", "1.5", "soon", "9999999999", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 06 Nov 1994"] {
            #expect(RetryAfter.parse(text, now: now) == nil, "\(text ?? "nil")")
        }
    }

    @Test("error bodies of every documented shape become one line")
    func errorBodies() {
        func summary(_ text: String, contentType: String? = "application/json") -> String? {
            ErrorBody.summary(Array(text.utf8), contentType: contentType, secrets: ["s3cret"])
        }
        #expect(summary(#"{"error":"Forbidden","message":"No."}"#) == "Forbidden: No.")
        #expect(summary(#"{"error":"e","error_description":"d","cause":"c"}"#) == "e: d (c)")
        #expect(
            summary(
                #"{"code":400,"type":"validation_error","message":"bad","request_id":"r1","fields":[{"name":"a","message":"m"}]}"#
            )
                == "validation_error: bad (fields: a: m) [request id r1]")
        #expect(summary(#"{"error":{"code":"Throttled","message":"later"}}"#) == "Throttled: later")
        #expect(summary(#"{"unrelated":true}"#) == nil)
        #expect(summary("plain text s3cret\nsecond line", contentType: "text/plain") == "plain text ***")
        #expect(summary("<html>oops</html>", contentType: "text/html; charset=utf-8") == nil)
        #expect(summary(String(repeating: "x", count: 1000), contentType: nil)?.count == ServerText.limit + 1)
        #expect(summary("tab\there\u{7}bell", contentType: nil) == "tab here bell")
    }

    @Test("STS credentials are read from AssumeRoleResponse, with entities decoded")
    func stsSuccess() throws {
        let xml = """
            <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <AssumeRoleResult>
                <SourceIdentity>x</SourceIdentity>
                <AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn><AssumedRoleId>ARO:s</AssumedRoleId></AssumedRoleUser>
                <Credentials>
                  <SessionToken>IQoJb3&amp;Jp/Z2lu+X2Vj==</SessionToken>
                  <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
                  <Expiration>2030-07-15T23:28:33.359Z</Expiration>
                  <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
                </Credentials>
                <PackedPolicySize>6</PackedPolicySize>
              </AssumeRoleResult>
              <ResponseMetadata><RequestId>c6104cbe</RequestId></ResponseMetadata>
            </AssumeRoleResponse>
            """
        let credentials = try STSResponse.credentials(Array(xml.utf8), now: Self.reference)
        #expect(credentials.accessKeyID == "ASIAIOSFODNN7EXAMPLE")
        #expect(credentials.secretAccessKey == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY")
        #expect(credentials.sessionToken == "IQoJb3&Jp/Z2lu+X2Vj==")
        #expect(credentials.expiration == Timestamps.iso8601("2030-07-15T23:28:33.359Z"))
    }

    @Test("STS responses missing a field, holding markup, or already expired are refused")
    func stsRefused() {
        let template = """
            <AssumeRoleResponse><AssumeRoleResult><Credentials>
            <AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>SECRETVALUE</SecretAccessKey>
            <SessionToken>TOKEN</SessionToken><Expiration>EXP</Expiration>
            </Credentials></AssumeRoleResult></AssumeRoleResponse>
            """
        let cases: [(String, String)] = [
            (template.replacingOccurrences(of: "<AccessKeyId>ASIA1</AccessKeyId>", with: ""), "AccessKeyId is missing"),
            (template.replacingOccurrences(of: "TOKEN", with: "<![CDATA[x]]>"), "SessionToken is missing"),
            (template.replacingOccurrences(of: "TOKEN", with: "&bogus;"), "SessionToken is missing"),
            (template.replacingOccurrences(of: "EXP", with: "2020-01-01T00:00:00Z"), "already past"),
            (template.replacingOccurrences(of: "EXP", with: "soon"), "not an ISO-8601 time"),
            ("<ErrorResponse/>", "no AssumeRoleResult/Credentials"),
        ]
        for (xml, expected) in cases {
            let body = xml.replacingOccurrences(of: "EXP", with: "2030-01-01T00:00:00Z")
            do {
                _ = try STSResponse.credentials(Array(body.utf8), now: Self.reference)
                Issue.record("accepted \(body)")
            } catch {
                #expect(error.description.contains(expected), "\(error.description)")
                #expect(!error.description.contains("SECRETVALUE"))
            }
        }
    }

    @Test("XML lookups find elements with attributes, skip longer names, and decode character references")
    func xmlElements() {
        let xml = XMLElements(#"<Root a="1"><CodeName>no</CodeName><Code>A&#66;&#x43;&lt;</Code><Empty/></Root>"#)
        #expect(xml.element("Root")?.text("Code") == "ABC<")
        #expect(xml.text("Empty") == "")
        #expect(xml.text("Root") == nil)
        #expect(xml.text("Missing") == nil)
    }

    @Test("STS errors map to what to do, and transient codes are retryable")
    func stsErrors() {
        func error(_ status: Int, _ code: String) -> CredentialError {
            let body =
                "<ErrorResponse><Error><Type>Sender</Type><Code>\(code)</Code><Message>m SECRETVALUE</Message></Error></ErrorResponse>"
            return STSResponse.error(
                HTTPResponse(status: status, headers: [], body: Array(body.utf8)), what: "STS", region: "eu-west-1",
                secrets: ["SECRETVALUE"], now: Self.reference)
        }
        #expect(error(400, "ExpiredToken").message.contains("session_token_file"))
        #expect(error(403, "RegionDisabledException").message.contains("region eu-west-1"))
        #expect(error(400, "Throttling").isPermanent == false)
        #expect(error(503, "Whatever").kind == .unavailable)
        #expect(error(400, "ValidationError").isPermanent)
        #expect(!error(403, "AccessDenied").message.contains("SECRETVALUE"))
    }
}
