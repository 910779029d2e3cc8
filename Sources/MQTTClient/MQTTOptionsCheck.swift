import Glibc

/// Checks options before libmosquitto sees them, so that mistakes get errors naming the field.
enum MQTTOptionsCheck {
    static func validate(_ options: MQTTOptions) throws(MQTTError) {
        guard !options.host.isEmpty, !options.host.utf8.contains(0) else {
            throw .invalidOption(field: "endpoint", reason: "the broker host is empty")
        }
        guard (0...65535).contains(options.port) else {
            throw .invalidOption(field: "port", reason: "must be 1 to 65535 (or 0 for a Unix socket), got \(options.port)")
        }
        if options.isUnixSocket, options.host.utf8.count > 107 {
            throw .invalidOption(field: "endpoint", reason: "Unix socket path longer than 107 bytes: '\(options.host)'")
        }
        guard !options.clientID.isEmpty, options.clientID.utf8.count <= 65535, !options.clientID.utf8.contains(0) else {
            throw .invalidOption(field: "client_id", reason: "must be 1 to 65535 bytes without NUL")
        }
        let keepalive = options.keepalive.components.seconds
        guard (5...65535).contains(keepalive) else {
            throw .invalidOption(field: "keepalive", reason: "must be 5 s to 65535 s, got \(keepalive) s")
        }
        guard options.connectTimeout > .zero else {
            throw .invalidOption(field: "connect_timeout", reason: "must be more than zero")
        }
        guard (1...65535).contains(options.maxInflight) else {
            throw .invalidOption(field: "max_inflight", reason: "must be 1 to 65535, got \(options.maxInflight)")
        }
        if options.password != nil, options.username == nil {
            throw .invalidOption(field: "password_file", reason: "a password needs broker.username as well")
        }
        if let tls = options.tls {
            guard (tls.certFile == nil) == (tls.keyFile == nil) else {
                throw .invalidOption(field: "cert_file/key_file", reason: "give both a certificate and its key, or neither")
            }
            try readable(tls.caFile, field: "ca_file")
            try readable(tls.certFile, field: "cert_file")
            try readable(tls.keyFile, field: "key_file")
            if let alpn = tls.alpn, alpn.isEmpty || alpn.utf8.count > 254 {
                throw .invalidOption(field: "alpn", reason: "must be 1 to 254 bytes")
            }
        }
    }

    private static func readable(_ path: String?, field: String) throws(MQTTError) {
        guard let path else { return }
        guard access(path, R_OK) == 0 else {
            throw .invalidOption(field: field, reason: "cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
    }
}
