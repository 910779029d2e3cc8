// libFuzzer target: an organization-endpoint answer (status, headers, body) read as a fetch reads it.
// Input layout: status selector byte, then header lines ("Name: value\n") NUL body; without a NUL it is all body.
// Besides crashes, it traps when the token sent with the request comes back in an error message.
import CloudCredentials
import FoundationEssentials
import FuzzDriver
import Glibc
import HTTPClient

let token = "fuzz-bearer-token-0123456789"
let statuses = [200, 201, 204, 301, 302, 400, 401, 403, 404, 408, 422, 429, 500, 502, 503, 504]
let source = OrganizationCredentialSource(
    baseURL: "https://org.example.com/v1", organizationID: "org-1", tokenFile: "/etc/gateway-agent/token",
    readToken: { token }, now: { Date(timeIntervalSince1970: 1_700_000_000) })

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOrganizationResponse(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = Int(data![0])
    let status = selector < statuses.count ? statuses[selector] : 100 + selector * 2
    let rest = Array(UnsafeBufferPointer(start: data! + 1, count: size - 1))
    var headers: [(String, String)] = []
    var body = rest
    if let split = rest.firstIndex(of: 0) {
        body = Array(rest[(split + 1)...])
        for line in String(decoding: rest[..<split], as: UTF8.self).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((line[..<colon].lowercased(), String(line[line.index(after: colon)...].drop { $0 == " " })))
        }
    }
    let response = HTTPResponse(status: status, headers: headers, body: body)
    do {
        _ = try source.session(from: response, what: "organization endpoint org.example.com", token: token)
    } catch {
        precondition(!error.message.contains(token), "the bearer token appears in: \(error.kind)")
    }
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzOrganizationResponse))
