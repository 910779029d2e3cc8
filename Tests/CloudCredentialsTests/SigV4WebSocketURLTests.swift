import FoundationEssentials
import Testing

@testable import CloudCredentials

@Suite("Presigned AWS IoT WebSocket URLs")
struct SigV4WebSocketURLTests {
    static let credentials = AWSCredentials(
        accessKeyID: "ASIAEXAMPLEEXAMPLE12", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        sessionToken: "FwoGZXIvYXdzE+token/with=chars")
    static let date = Date(timeIntervalSince1970: 1_440_938_160)

    @Test("has the documented shape, with the token appended after the signature")
    func shape() throws {
        let url = SigV4.presignedWebSocketURL(
            host: "abc123-ats.iot.eu-west-1.amazonaws.com", region: "eu-west-1", credentials: Self.credentials,
            date: Self.date)
        let prefix =
            "wss://abc123-ats.iot.eu-west-1.amazonaws.com/mqtt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=ASIAEXAMPLEEXAMPLE12%2F20150830%2Feu-west-1%2Fiotdevicegateway%2Faws4_request"
            + "&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature="
        #expect(url.hasPrefix(prefix))
        let rest = url.dropFirst(prefix.count)
        let signature = rest.prefix(64)
        #expect(signature.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(rest.dropFirst(64) == "&X-Amz-Security-Token=FwoGZXIvYXdzE%2Btoken%2Fwith%3Dchars")
    }

    @Test("the token does not change the signature")
    func tokenIsNotSigned() {
        var withoutToken = Self.credentials
        withoutToken.sessionToken = nil
        let signed = SigV4.presignedWebSocketURL(
            host: "h.example", region: "us-east-1", credentials: Self.credentials, date: Self.date)
        let unsigned = SigV4.presignedWebSocketURL(
            host: "h.example", region: "us-east-1", credentials: withoutToken, date: Self.date)
        #expect(signed.hasPrefix(unsigned + "&X-Amz-Security-Token="))
        #expect(!unsigned.contains("Security-Token"))
    }

    @Test("a port other than 443 is in the URL and in the signed host")
    func nonDefaultPort() {
        let on443 = SigV4.presignedWebSocketURL(
            host: "h.example", port: 443, region: "us-east-1", credentials: Self.credentials, date: Self.date)
        let on8443 = SigV4.presignedWebSocketURL(
            host: "h.example", port: 8443, region: "us-east-1", credentials: Self.credentials, date: Self.date)
        #expect(on443.hasPrefix("wss://h.example/mqtt?"))
        #expect(on8443.hasPrefix("wss://h.example:8443/mqtt?"))
        #expect(signature(on443) != signature(on8443))
    }

    @Test("signing afresh at another second gives another signature")
    func dateChangesSignature() {
        let first = SigV4.presignedWebSocketURL(
            host: "h.example", region: "us-east-1", credentials: Self.credentials, date: Self.date)
        let second = SigV4.presignedWebSocketURL(
            host: "h.example", region: "us-east-1", credentials: Self.credentials,
            date: Self.date.addingTimeInterval(1))
        #expect(signature(first) != signature(second))
        #expect(second.contains("X-Amz-Date=20150830T123601Z"))
    }

    func signature(_ url: String) -> Substring {
        let marker = "X-Amz-Signature="
        guard let range = url.firstRange(of: marker) else { return "" }
        return url[range.upperBound...].prefix(64)
    }
}

@Suite("SigV4 timestamps")
struct SigV4TimestampTests {
    @Test("renders UTC day and time for instants across eras, leap days and before 1970")
    func renders() {
        let cases: [(TimeInterval, String)] = [
            (0, "19700101T000000Z"),
            (1_440_938_160, "20150830T123600Z"),
            (951_782_400, "20000229T000000Z"),
            (4_102_444_799, "20991231T235959Z"),
            (1_709_251_199.999, "20240229T235959Z"),
            (-1, "19691231T235959Z"),
        ]
        for (seconds, expected) in cases {
            let timestamp = SigV4Timestamp(Date(timeIntervalSince1970: seconds))
            #expect(timestamp.dateTime == expected)
            #expect(timestamp.day == String(expected.prefix(8)))
        }
    }
}

@Suite("AWS credentials in logs")
struct AWSCredentialsTests {
    @Test("description, debug description and dump never show the secret or the token")
    func redacts() {
        let credentials = AWSCredentials(
            accessKeyID: "ASIAQWERTYUIOPASDFGH", secretAccessKey: "secret-value-do-not-print",
            sessionToken: "token-value-do-not-print", expiration: Date(timeIntervalSince1970: 1_440_938_160))
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [credentials.description, String(reflecting: credentials), "\(credentials)", dumped] {
            #expect(!text.contains("secret-value"))
            #expect(!text.contains("token-value"))
            #expect(!text.contains("QWERTYUIOPASDFGH"))
            #expect(text.contains("ASIA…"))
        }
        #expect(credentials.description.contains("2015-08-30T12:36:00"))
    }
}
