import Testing

@testable import HTTPClient

@Suite("Secrets kept out of HTTP errors")
struct RedactionTests {
    @Test("user information in URLs is replaced, the rest kept")
    func userInfo() {
        #expect(
            Redaction.userInfo(in: "Unsupported proxy 'http://bob:pa55@proxy.example:3128/x' and https://h/p")
                == "Unsupported proxy 'http://***@proxy.example:3128/x' and https://h/p")
        #expect(Redaction.userInfo(in: "no url here") == "no url here")
    }

    @Test("proxy credentials and their password are scrubbed wherever they appear")
    func scrubsCredentials() {
        #expect(
            Redaction.scrub("auth agent:pa55word failed (pa55word)", secrets: ["agent:pa55word", nil])
                == "auth *** failed (***)")
    }

    @Test("a request prints its method, host and header names, never values, body or query")
    func requestDescription() {
        let request = HTTPRequest(
            method: "POST", url: "https://user:pw@api.example:8443/v1/creds?token=abc",
            headers: [("Authorization", "Bearer xyz")], body: [1, 2, 3])
        #expect(request.host == "api.example:8443")
        #expect(
            request.description
                == "HTTPRequest(POST https://api.example:8443/…, headers: [Authorization], body: 3 bytes)")
    }
}
