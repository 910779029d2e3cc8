import FoundationEssentials
import Testing

@testable import CloudCredentials

/// AWS's published SigV4 test suite (service `service`, us-east-1, 2015-08-30T12:36:00Z) and the
/// presigned-URL example of the S3 API reference.
@Suite("SigV4 against AWS's published examples")
struct SigV4VectorTests {
    static let suiteCredentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)
    static let scope = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"

    func suiteAuthorization(
        method: String = "GET", path: String = "/", query: [(String, String)] = [], headers: [(String, String)] = [],
        body: String = "", credentials: AWSCredentials = suiteCredentials
    ) -> [(String, String)] {
        SigV4.sign(
            method: method, host: "example.amazonaws.com", path: path, query: query, headers: headers,
            body: Array(body.utf8), region: "us-east-1", service: "service", credentials: credentials,
            date: Self.suiteDate)
    }

    func authorization(_ signed: [(String, String)]) -> String? {
        signed.first { $0.0 == "Authorization" }?.1
    }

    func expected(_ signedHeaders: String, _ signature: String) -> String {
        "AWS4-HMAC-SHA256 Credential=\(Self.scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    @Test("get-vanilla: canonical request, string to sign and signature")
    func getVanilla() {
        let canonical = SigV4Canonical(
            method: "GET", path: "/", query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4.emptyPayloadHash)
        #expect(
            canonical.text == """
                GET
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """)
        let stringToSign = SigV4Canonical.stringToSign(
            canonicalRequest: canonical.text, timestamp: SigV4Timestamp(Self.suiteDate),
            scope: "20150830/us-east-1/service/aws4_request")
        #expect(
            stringToSign == """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
                """)
        let signed = suiteAuthorization()
        #expect(signed.map(\.0) == ["X-Amz-Date", "Authorization"])
        #expect(signed.first?.1 == "20150830T123600Z")
        #expect(
            authorization(signed)
                == expected("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"))
    }

    @Test("get-vanilla-query-order-key-case: query sorted by name")
    func queryOrder() {
        #expect(
            authorization(suiteAuthorization(query: [("Param2", "value2"), ("Param1", "value1")]))
                == expected("host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"))
    }

    @Test("get-vanilla-query-unreserved: unreserved characters stay as they are")
    func queryUnreserved() {
        let unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        #expect(
            authorization(suiteAuthorization(query: [(unreserved, unreserved)]))
                == expected("host;x-amz-date", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"))
    }

    @Test("post-vanilla: the method is part of the signature")
    func postVanilla() {
        #expect(
            authorization(suiteAuthorization(method: "POST"))
                == expected("host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"))
    }

    @Test("post-x-www-form-urlencoded: the body hash and Content-Type are signed")
    func postForm() {
        let headers = [("Content-Type", "application/x-www-form-urlencoded")]
        let canonical = SigV4Canonical(
            method: "POST", path: "/", query: [],
            headers: headers + [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")
        let stringToSign = SigV4Canonical.stringToSign(
            canonicalRequest: canonical.text, timestamp: SigV4Timestamp(Self.suiteDate),
            scope: "20150830/us-east-1/service/aws4_request")
        #expect(stringToSign.hasSuffix("\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"))
        #expect(
            authorization(suiteAuthorization(method: "POST", headers: headers, body: "Param1=value1"))
                == expected(
                    "content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"))
    }

    @Test("get-header-key-duplicate: repeated headers join in order with commas")
    func duplicateHeaders() {
        let headers = [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")]
        #expect(
            authorization(suiteAuthorization(headers: headers))
                == expected(
                    "host;my-header1;x-amz-date", "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"))
    }

    @Test("get-header-value-trim: values trimmed, inner runs of spaces collapsed")
    func headerValueTrim() {
        let headers = [("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")]
        #expect(
            authorization(suiteAuthorization(headers: headers))
                == expected(
                    "host;my-header1;my-header2;x-amz-date",
                    "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"))
    }

    @Test("get-space and get-utf8: path segments are percent-encoded")
    func pathEncoding() {
        #expect(
            authorization(suiteAuthorization(path: "/example space/"))
                == expected("host;x-amz-date", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"))
        #expect(
            authorization(suiteAuthorization(path: "/ሴ"))
                == expected("host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"))
    }

    @Test("get-vanilla-with-session-token: the token header is added and signed")
    func sessionTokenHeader() {
        let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
        var credentials = Self.suiteCredentials
        credentials.sessionToken = token
        let signed = suiteAuthorization(credentials: credentials)
        #expect(signed.map(\.0) == ["X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
        #expect(signed[1].1 == token)
        #expect(
            authorization(signed)
                == expected(
                    "host;x-amz-date;x-amz-security-token",
                    "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"))
    }

    @Test("the S3 API reference's presigned GET of test.txt")
    func s3PresignedExample() {
        let credentials = AWSCredentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        let query = SigV4.presignedQuery(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", query: [],
            region: "us-east-1", service: "s3", credentials: credentials,
            date: Date(timeIntervalSince1970: 1_369_353_600),
            expires: 86400, payloadHash: "UNSIGNED-PAYLOAD")
        #expect(
            query == "X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }
}
