import CMosquitto

/// What libmosquitto's log and OpenSSL said while a connection was being set up,
/// turned into the one `MQTTError` that tells an operator what to fix.
///
/// libmosquitto reports every TLS failure as `MOSQ_ERR_TLS`; the reason is only in its log
/// lines and in OpenSSL's certificate-verification result.
struct TLSDiagnosis: Sendable {
    /// OpenSSL's X509_V_* verification result, captured while the SSL object still existed.
    var verifyResult: Int = Int(X509_V_OK)
    /// libmosquitto's error and warning lines, newest last (a few at most).
    var lines: [String] = []

    mutating func record(_ line: String) {
        if lines.count >= 8 { lines.removeFirst() }
        lines.append(line)
    }

    /// The specific TLS error, or nil when nothing TLS-related was logged.
    func error(host: String, options: MQTTOptions.TLSOptions?) -> MQTTError? {
        // libmosquitto checks the host name itself and says so in its log; OpenSSL then reports only
        // "unspecified" for a chain it had accepted.
        if find("host name verification failed") != nil || verifyResult == Int(X509_V_ERR_HOSTNAME_MISMATCH)
            || verifyResult == Int(X509_V_ERR_IP_ADDRESS_MISMATCH)
        {
            return .hostNameMismatch(host: host)
        }
        if verifyResult != Int(X509_V_OK) {
            return .serverCertificateUntrusted(detail: String(cString: cmosquitto_tls_verify_text(verifyResult)))
        }
        if let line = find("Unable to load CA certificates") {
            return .invalidOption(field: "ca_file", reason: "cannot load '\(options?.caFile ?? "")': \(line)")
        }
        if find("Unable to load client certificate") != nil {
            return .invalidOption(field: "cert_file", reason: "cannot load '\(options?.certFile ?? "")' as a PEM certificate")
        }
        if find("Unable to load client key file") != nil {
            return .invalidOption(
                field: "key_file",
                reason: "cannot use '\(options?.keyFile ?? "")': not a PEM private key, or not the key of cert_file")
        }
        if find("certificate/key are inconsistent") != nil {
            return .invalidOption(field: "key_file", reason: "the key does not belong to the certificate in cert_file")
        }
        if let line = find("certificate verify failed") {
            return .serverCertificateUntrusted(detail: openSSLReason(line))
        }
        let clientCertificateAlerts = [
            "alert unknown ca", "alert bad certificate", "certificate required", "alert certificate unknown",
            "alert certificate expired", "alert certificate revoked", "alert unsupported certificate",
            "peer did not return a certificate",
        ]
        for alert in clientCertificateAlerts {
            if let line = find(alert) { return .clientCertificateRejected(detail: openSSLReason(line)) }
        }
        if let line = lines.last(where: { $0.contains("OpenSSL Error") }) {
            return .tlsFailed(detail: openSSLReason(line))
        }
        return nil
    }

    private func find(_ text: String) -> String? {
        lines.last(where: { $0.lowercased().contains(text.lowercased()) })
    }

    /// `OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed` → `certificate verify failed`.
    private func openSSLReason(_ line: String) -> String {
        guard let range = line.ranges(of: "::").last else { return line }
        return String(line[range.upperBound...])
    }
}
