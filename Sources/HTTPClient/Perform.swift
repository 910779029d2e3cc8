import Glibc
import Synchronization

/// Sends `request` and returns the complete response, or throws why there is none.
///
/// TLS is always verified (chain and host name, TLS 1.2 or newer); only `https://` URLs are accepted;
/// redirects are returned, not followed. The blocking libcurl transfer runs on a dedicated thread;
/// cancelling the calling task aborts it within about a second.
public func perform(_ request: HTTPRequest, options: HTTPClientOptions = HTTPClientOptions())
    async throws(HTTPError) -> HTTPResponse
{
    try RequestCheck.validate(request, options: options)
    let host = request.host
    if Task.isCancelled { throw .cancelled(host: host) }
    let cancellation = TransferCancellation()
    let result: Result<HTTPResponse, HTTPError> = await withTaskCancellationHandler {
        await withCheckedContinuation { continuation in
            let started = DedicatedThread.start {
                continuation.resume(returning: CurlTransfer.run(request, options: options, cancellation: cancellation))
            }
            if !started {
                continuation.resume(
                    returning: .failure(.transferFailed(host: host, reason: "could not start a thread for the request"))
                )
            }
        }
    } onCancel: {
        cancellation.cancel()
    }
    return try result.get()
}

/// Set from the cancelled task, read by the transfer thread's progress callback.
final class TransferCancellation: Sendable {
    private let flag = Atomic<Bool>(false)

    func cancel() { flag.store(true, ordering: .relaxed) }

    var isCancelled: Bool { flag.load(ordering: .relaxed) }
}

/// Checks made before libcurl sees a request, so that refusals name the fault precisely.
enum RequestCheck {
    static func validate(_ request: HTTPRequest, options: HTTPClientOptions) throws(HTTPError) {
        let url = request.url
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw .invalidRequest(reason: "the URL has no scheme; only https:// URLs are allowed")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "https" else {
            throw .invalidRequest(
                reason: "scheme \"\(scheme)\" is not allowed; only https:// URLs are (host \(request.host))")
        }
        guard !request.host.isEmpty else {
            throw .invalidRequest(reason: "the URL has no host")
        }
        guard url.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
            throw .invalidRequest(
                reason: "the URL to \(request.host) contains spaces or control characters; percent-encode them")
        }
        guard !request.method.isEmpty, request.method.utf8.allSatisfy({ isTokenByte($0) }) else {
            throw .invalidRequest(reason: "method \"\(request.method)\" is not an HTTP token")
        }
        for (name, value) in request.headers {
            guard !name.isEmpty, name.utf8.allSatisfy({ isTokenByte($0) }) else {
                throw .invalidRequest(reason: "header name \"\(name)\" is not an HTTP token")
            }
            // The value is not quoted: it may be a token or password.
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else {
                throw .invalidRequest(reason: "the value of header \(name) contains a line break or NUL")
            }
        }
        if let caFile = options.caFile, access(caFile, R_OK) != 0 {
            throw .invalidRequest(reason: "ca_file \(caFile) cannot be read: \(String(cString: strerror(errno)))")
        }
        guard options.maxResponseBytes > 0 else {
            throw .invalidRequest(reason: "maxResponseBytes must be positive, not \(options.maxResponseBytes)")
        }
        guard options.connectTimeout > .zero, options.totalTimeout > .zero else {
            throw .invalidRequest(reason: "connect and total timeouts must be positive")
        }
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
