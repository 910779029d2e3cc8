import CCurl

/// One request through one libcurl easy handle, run synchronously on the calling (dedicated) thread.
/// The handle and every raw pointer stay inside this type.
enum CurlTransfer {
    /// `curl_global_init` must run once, before any other thread uses libcurl; a Swift static is initialized once.
    private static let globalInit: CURLcode = gateway_curl_global_init()

    /// Response headers are small; a server sending more is broken or hostile.
    static let maxHeaderBytes = 64 * 1024

    /// What the callbacks fill in while libcurl runs.
    final class State {
        let bodyLimit: Int
        let cancellation: TransferCancellation
        var body: [UInt8] = []
        var headers: [(String, String)] = []
        var headerBytes = 0
        var tooLarge = false

        init(bodyLimit: Int, cancellation: TransferCancellation) {
            self.bodyLimit = bodyLimit
            self.cancellation = cancellation
        }
    }

    /// A libcurl call that failed while setting up, named for the message.
    struct SetupFailure: Error {
        let option: String
        let code: CURLcode
    }

    static func run(_ request: HTTPRequest, options: HTTPClientOptions, cancellation: TransferCancellation)
        -> Result<HTTPResponse, HTTPError>
    {
        let host = request.host
        guard globalInit == CURLE_OK else {
            return .failure(.transferFailed(host: host, reason: "libcurl could not initialise: \(text(globalInit))"))
        }
        guard let handle = curl_easy_init() else {
            return .failure(.transferFailed(host: host, reason: "libcurl could not create a handle"))
        }
        defer { curl_easy_cleanup(handle) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }
        let state = State(bodyLimit: options.maxResponseBytes, cancellation: cancellation)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }

        return withExtendedLifetime(state) {
            let context = Unmanaged.passUnretained(state).toOpaque()
            do throws(SetupFailure) {
                headerList = try configure(
                    handle, request: request, options: options, context: context, errorBuffer: errorBuffer)
            } catch {
                return .failure(.invalidRequest(reason: "libcurl refused \(error.option): \(text(error.code))"))
            }
            let code = curl_easy_perform(handle)
            if code == CURLE_OK {
                var status = 0
                gateway_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
                return .success(HTTPResponse(status: status, headers: state.headers, body: state.body))
            }
            let message = String(cString: errorBuffer)
            return .failure(
                error(
                    for: code, message: message.isEmpty ? text(code) : message, handle: handle, state: state,
                    request: request, options: options))
        }
    }

    /// Sets every option; returns the header list the handle now points to (freed by the caller after the transfer).
    static func configure(
        _ handle: UnsafeMutableRawPointer, request: HTTPRequest, options: HTTPClientOptions,
        context: UnsafeMutableRawPointer, errorBuffer: UnsafeMutablePointer<CChar>
    ) throws(SetupFailure) -> UnsafeMutablePointer<curl_slist>? {
        func check(_ code: CURLcode, _ option: String) throws(SetupFailure) {
            guard code == CURLE_OK else { throw SetupFailure(option: option, code: code) }
        }
        try check(gateway_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), "ERRORBUFFER")
        try check(gateway_curl_setopt_string(handle, CURLOPT_URL, request.url), "the URL")
        // https only, for the request and for any redirect a caller might later choose to follow.
        try check(gateway_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "https"), "PROTOCOLS_STR")
        try check(gateway_curl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "https"), "REDIR_PROTOCOLS_STR")
        try check(gateway_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0), "FOLLOWLOCATION")
        // Signals are process-wide; libcurl must not use them for its timeouts in a threaded daemon.
        try check(gateway_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1), "NOSIGNAL")
        try check(gateway_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1), "SSL_VERIFYPEER")
        try check(gateway_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2), "SSL_VERIFYHOST")
        try check(
            gateway_curl_setopt_long(handle, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2), "SSLVERSION")
        if let caFile = options.caFile {
            try check(gateway_curl_setopt_string(handle, CURLOPT_CAINFO, caFile), "CAINFO")
            // ca_file replaces the system store rather than adding to it.
            try check(gateway_curl_setopt_string(handle, CURLOPT_CAPATH, nil), "CAPATH")
        }
        try check(
            gateway_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(options.connectTimeout)),
            "CONNECTTIMEOUT_MS")
        try check(
            gateway_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, milliseconds(options.totalTimeout)), "TIMEOUT_MS")
        // Refuses early when Content-Length already says too much; the write callback catches the rest.
        try check(
            gateway_curl_setopt_offset(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(options.maxResponseBytes)),
            "MAXFILESIZE_LARGE")

        if let proxy = options.proxy {
            try check(gateway_curl_setopt_string(handle, CURLOPT_PROXY, proxy), "PROXY")
        }
        if let credentials = options.proxyCredentials {
            try check(gateway_curl_setopt_string(handle, CURLOPT_PROXYUSERPWD, credentials), "PROXYUSERPWD")
        }
        if let noProxy = options.noProxy {
            try check(gateway_curl_setopt_string(handle, CURLOPT_NOPROXY, noProxy), "NOPROXY")
        }
        try check(gateway_curl_setopt_long(handle, CURLOPT_HTTPPROXYTUNNEL, 1), "HTTPPROXYTUNNEL")
        try check(gateway_curl_setopt_long(handle, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1), "SUPPRESS_CONNECT_HEADERS")

        try check(gateway_curl_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION, receiveBody), "WRITEFUNCTION")
        try check(gateway_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context), "WRITEDATA")
        try check(gateway_curl_setopt_write_callback(handle, CURLOPT_HEADERFUNCTION, receiveHeader), "HEADERFUNCTION")
        try check(gateway_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context), "HEADERDATA")
        try check(gateway_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0), "NOPROGRESS")
        try check(
            gateway_curl_setopt_progress_callback(handle, CURLOPT_XFERINFOFUNCTION, checkCancellation),
            "XFERINFOFUNCTION")
        try check(gateway_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context), "XFERINFODATA")

        try setMethodAndBody(handle, request: request, check: check)

        var list: UnsafeMutablePointer<curl_slist>?
        // An empty "Expect:" stops libcurl waiting for "100 Continue" before sending larger bodies.
        var lines = request.headers.map { "\($0.0): \($0.1)" } + ["Expect:"]
        if !request.headers.contains(where: { $0.0.lowercased() == "user-agent" }) {
            lines.append("User-Agent: gateway-agent")
        }
        for line in lines {
            guard let extended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw SetupFailure(option: "a header (out of memory)", code: CURLE_OUT_OF_MEMORY)
            }
            list = extended
        }
        do {
            try check(gateway_curl_setopt_list(handle, CURLOPT_HTTPHEADER, list), "HTTPHEADER")
        } catch {
            curl_slist_free_all(list)
            throw error
        }
        return list
    }

    static func setMethodAndBody(
        _ handle: UnsafeMutableRawPointer, request: HTTPRequest,
        check: (CURLcode, String) throws(SetupFailure) -> Void
    ) throws(SetupFailure) {
        let method = request.method
        if method == "HEAD" {
            try check(gateway_curl_setopt_long(handle, CURLOPT_NOBODY, 1), "NOBODY")
        } else if method != "GET" && method != "POST" {
            try check(gateway_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method), "CUSTOMREQUEST")
        }
        if let body = request.body {
            try check(
                gateway_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)),
                "POSTFIELDSIZE_LARGE")
            // COPYPOSTFIELDS copies the bytes, so the body needs to outlive only this call.
            let code = body.withUnsafeBufferPointer { buffer in
                guard let start = buffer.baseAddress else {
                    return gateway_curl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "")
                }
                return start.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    gateway_curl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, $0)
                }
            }
            try check(code, "COPYPOSTFIELDS")
            if method == "GET" {
                try check(gateway_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method), "CUSTOMREQUEST")
            }
        } else if method == "POST" {
            try check(gateway_curl_setopt_long(handle, CURLOPT_POST, 1), "POST")
            try check(gateway_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, 0), "POSTFIELDSIZE_LARGE")
        }
    }

    static let receiveBody: curl_write_callback = { data, size, count, context in
        guard let context else { return 0 }
        let state = Unmanaged<State>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        guard state.body.count + length <= state.bodyLimit else {
            state.tooLarge = true
            return 0  // anything but `length` makes libcurl abort with CURLE_WRITE_ERROR
        }
        if let data, length > 0 {
            state.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
        }
        return length
    }

    static let receiveHeader: curl_write_callback = { data, size, count, context in
        guard let context else { return 0 }
        let state = Unmanaged<State>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        state.headerBytes += length
        guard state.headerBytes <= maxHeaderBytes else {
            state.tooLarge = true
            return 0
        }
        guard let data, length > 0 else { return length }
        let line = Array(UnsafeRawBufferPointer(start: data, count: length))
        if line.starts(with: Array("HTTP/".utf8)) {
            // A new status line (after 100 Continue, say): only the final response's headers count.
            state.headers.removeAll()
        } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self)
                .trimmingCharacters(in: " \t\r\n")
            state.headers.append((name, value))
        }
        return length
    }

    static let checkCancellation: curl_xferinfo_callback = { context, _, _, _, _ in
        guard let context else { return 0 }
        let state = Unmanaged<State>.fromOpaque(context).takeUnretainedValue()
        return state.cancellation.isCancelled ? 1 : 0
    }

    /// The one place a libcurl failure becomes an `HTTPError`.
    static func error(
        for code: CURLcode, message: String, handle: UnsafeMutableRawPointer, state: State, request: HTTPRequest,
        options: HTTPClientOptions
    ) -> HTTPError {
        let host = request.host
        let reason = Redaction.scrub(message, secrets: [options.proxyCredentials])
        var connectStatus = 0
        gateway_curl_getinfo_long(handle, CURLINFO_HTTP_CONNECTCODE, &connectStatus)
        if connectStatus >= 300 {
            return .proxyFailed(host: host, status: connectStatus, reason: reason)
        }
        switch code {
        case CURLE_WRITE_ERROR where state.tooLarge, CURLE_FILESIZE_EXCEEDED:
            return .responseTooLarge(
                host: host, limit: state.headerBytes > maxHeaderBytes ? maxHeaderBytes : options.maxResponseBytes)
        case CURLE_ABORTED_BY_CALLBACK:
            return .cancelled(host: host)
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut(host: host, reason: reason)
        case CURLE_COULDNT_CONNECT where !(options.proxy ?? "").isEmpty:
            // With a proxy set, the only TCP connection libcurl makes is to the proxy.
            return .proxyFailed(host: host, status: nil, reason: reason)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT:
            return .connectFailed(host: host, reason: reason)
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_PROXY:
            return .proxyFailed(host: host, status: nil, reason: reason)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS:
            return .tlsVerificationFailed(host: host, caFile: options.caFile, reason: reason)
        case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_INITFAILED, CURLE_USE_SSL_FAILED:
            return .tlsHandshakeFailed(host: host, reason: reason)
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            return .invalidRequest(reason: "\(reason) (host \(host))")
        default:
            return .transferFailed(host: host, reason: reason)
        }
    }

    static func text(_ code: CURLcode) -> String {
        String(cString: curl_easy_strerror(code))
    }

    /// Whole milliseconds, at least 1 (libcurl reads 0 as "no limit").
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow else { return Int.max }
        return max(1, Int(total.partialValue + attoseconds / 1_000_000_000_000_000))
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let drop: (Character) -> Bool = { set.contains($0) }
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
