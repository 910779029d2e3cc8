import COpenSSL
import GatewayCore

/// Checks that a device's public key is one PEM SubjectPublicKeyInfo of a kind the cloud accepts.
///
/// Every refusal is a `ValidationError` on field `publicKey` naming the rule broken. Refusals never
/// quote the input: an operator who pastes a private key by mistake must not find it in a log.
public enum PublicKeyInspector {
    /// Longest PEM text accepted; a 16384-bit RSA public key is under 3 KiB.
    public static let maxPEMBytes = 16 * 1024
    /// Smallest RSA modulus accepted.
    public static let minimumRSABits = 2048
    /// Largest RSA modulus accepted (OpenSSL's own limit for public-key operations).
    public static let maximumRSABits = 16384

    /// The kind of the key in `pem`; throws when it is not exactly one acceptable public key.
    public static func inspect(pem: String) throws(ValidationError) -> PublicKeyKind {
        let text = try checkedPEMText(pem)
        OpenSSLErrorQueue.clear()
        defer { OpenSSLErrorQueue.clear() }
        let der = try decodePEM(text)
        return try inspect(der: der)
    }

    /// `inspect(pem:)` without the result, in the shape `RequestValidator.checkPublicKey` takes.
    public static func check(_ pem: String) throws(ValidationError) {
        _ = try inspect(pem: pem)
    }

    static func refused(_ rule: String) -> ValidationError {
        ValidationError(field: "publicKey", rule: rule)
    }

    /// The PEM text trimmed, after the checks that need no OpenSSL: one `PUBLIC KEY` block, nothing around it.
    static func checkedPEMText(_ pem: String) throws(ValidationError) -> String {
        guard pem.utf8.count <= maxPEMBytes else {
            throw refused("is \(pem.utf8.count) bytes; a PEM public key is at most \(maxPEMBytes) bytes")
        }
        let text = trimmed(pem)
        guard !text.isEmpty else {
            throw refused("is empty; give a PEM public key beginning with -----BEGIN PUBLIC KEY-----")
        }
        // First, so that no later message can describe (let alone quote) private-key material.
        if occurrences(of: "PRIVATE KEY", in: text) > 0 {
            throw refused("this is a PRIVATE key; give the public key (openssl pkey -pubout)")
        }
        if text.hasPrefix("ssh-") || text.hasPrefix("ecdsa-sha2-") {
            throw refused(
                "is an OpenSSH public key; convert it to PEM (ssh-keygen -e -m PKCS8 -f KEY.pub)")
        }
        let begin = "-----BEGIN "
        guard text.hasPrefix(begin) else {
            if occurrences(of: begin, in: text) > 0 {
                throw refused("has text before its -----BEGIN line; give exactly one public key and nothing else")
            }
            throw refused(
                "is not PEM; give a public key beginning with -----BEGIN PUBLIC KEY----- (openssl pkey -pubout)")
        }
        let label = pemLabel(after: text.dropFirst(begin.count))
        switch label {
        case "PUBLIC KEY":
            break
        case "CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE":
            throw refused(
                "is a certificate, not a public key; give its public key (openssl x509 -pubkey -noout -in CERT)")
        case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
            throw refused(
                "is a certificate request, not a public key; give its public key (openssl req -pubkey -noout -in CSR)")
        case "RSA PUBLIC KEY":
            throw refused(
                "is a PKCS#1 RSA PUBLIC KEY; give it as SubjectPublicKeyInfo (openssl rsa -RSAPublicKey_in -pubout)")
        default:
            throw refused("is a PEM \"\(label)\" block, not a public key; give -----BEGIN PUBLIC KEY-----")
        }
        guard occurrences(of: begin, in: text) == 1 else {
            throw refused("holds more than one PEM block; give exactly one public key")
        }
        let end = "-----END PUBLIC KEY-----"
        guard occurrences(of: end, in: text) > 0 else {
            throw refused("has no -----END PUBLIC KEY----- line; the key looks truncated")
        }
        guard text.hasSuffix(end) else {
            throw refused("has text after -----END PUBLIC KEY-----; give exactly one public key and nothing else")
        }
        return text
    }

    /// The DER bytes of the single PEM block in `text`, which `checkedPEMText` already vetted.
    static func decodePEM(_ text: String) throws(ValidationError) -> [UInt8] {
        var bytes = Array(text.utf8)
        let bio = bytes.withUnsafeMutableBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        guard let bio else {
            throw refused("could not be read: \(OpenSSLErrorQueue.drain() ?? "OpenSSL could not allocate a buffer")")
        }
        defer { BIO_free(bio) }
        var name: UnsafeMutablePointer<CChar>?
        var header: UnsafeMutablePointer<CChar>?
        var data: UnsafeMutablePointer<UInt8>?
        var length = 0
        let ok = PEM_read_bio(bio, &name, &header, &data, &length)
        defer {
            gateway_openssl_free(name)
            gateway_openssl_free(header)
            gateway_openssl_free(data)
        }
        guard ok == 1, let data else {
            throw refused("is not valid PEM (\(OpenSSLErrorQueue.drain() ?? "unreadable base64")); copy the key again")
        }
        if let header, header.pointee != 0 {
            throw refused("has PEM headers (Proc-Type/DEK-Info); give a plain, unencrypted public key")
        }
        return Array(UnsafeBufferPointer(start: data, count: length))
    }

    /// Parses the SubjectPublicKeyInfo `der` and checks its type and size.
    static func inspect(der: [UInt8]) throws(ValidationError) -> PublicKeyKind {
        if let kind = NamedCurveKey.kind(of: der) { return kind }
        let parsed: (key: OpaquePointer?, consumed: Int) = der.withUnsafeBufferPointer { buffer in
            guard let start = buffer.baseAddress else { return (nil, 0) }
            var cursor: UnsafePointer<UInt8>? = start
            let key = d2i_PUBKEY(nil, &cursor, buffer.count)
            return (key, cursor.map { start.distance(to: $0) } ?? 0)
        }
        guard let key = parsed.key else {
            throw refused(
                "is not a valid SubjectPublicKeyInfo (\(OpenSSLErrorQueue.drain() ?? "OpenSSL could not decode it"))")
        }
        defer { EVP_PKEY_free(key) }
        guard parsed.consumed == der.count else {
            throw refused("has \(der.count - parsed.consumed) stray bytes after the key inside the PEM data")
        }
        let kind = try kind(of: key)
        try checkPublicComponents(key, kind: kind)
        return kind
    }

    static func kind(of key: OpaquePointer) throws(ValidationError) -> PublicKeyKind {
        let type = EVP_PKEY_get_base_id(key)
        switch type {
        case EVP_PKEY_RSA:
            let bits = Int(EVP_PKEY_get_bits(key))
            guard bits >= minimumRSABits else {
                throw refused("RSA key has \(bits) bits; at least \(minimumRSABits) are required")
            }
            guard bits <= maximumRSABits else {
                throw refused("RSA key has \(bits) bits; at most \(maximumRSABits) are accepted")
            }
            return .rsa(bits: bits)
        case EVP_PKEY_EC:
            // OpenSSL maps explicit parameters that equal a named curve back to its name; refuse them anyway
            // (RFC 5480 requires named curves, and parsers elsewhere in the cloud may not accept them).
            guard let curve = groupName(of: key), stringParameter(OSSL_PKEY_PARAM_EC_ENCODING, of: key) != "explicit"
            else {
                throw refused("EC key has explicit curve parameters; use the named curve P-256 or P-384")
            }
            switch curve {
            case "prime256v1", "P-256", "secp256r1": return .ecP256
            case "secp384r1", "P-384": return .ecP384
            default: throw refused("EC key is on curve \(curve); only P-256 and P-384 are accepted")
            }
        case EVP_PKEY_ED25519:
            return .ed25519
        default:
            let name = EVP_PKEY_get0_type_name(key).map { String(cString: $0) } ?? "with OpenSSL id \(type)"
            throw refused(
                "key type \(name) is not accepted; "
                    + "use RSA (at least \(minimumRSABits) bits), EC P-256 or P-384, or Ed25519")
        }
    }

    static func groupName(of key: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 80)
        var length = 0
        guard EVP_PKEY_get_group_name(key, &buffer, buffer.count, &length) == 1, length > 0 else { return nil }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func stringParameter(_ name: String, of key: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 80)
        var length = 0
        guard EVP_PKEY_get_utf8_string_param(key, name, &buffer, buffer.count, &length) == 1 else { return nil }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// OpenSSL's own sanity check of the public numbers (RSA modulus and exponent, EC point on the curve).
    static func checkPublicComponents(_ key: OpaquePointer, kind: PublicKeyKind) throws(ValidationError) {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, key, nil) else {
            throw refused("could not be checked: \(OpenSSLErrorQueue.drain() ?? "OpenSSL could not allocate")")
        }
        defer { EVP_PKEY_CTX_free(context) }
        // P-256 and P-384 have cofactor 1: a point on the curve is in the right group, so the quick check is
        // the whole check, without the full one's scalar multiplication (ten times the cost).
        let valid: Int32
        switch kind {
        case .ecP256, .ecP384: valid = EVP_PKEY_public_check_quick(context)
        case .rsa, .ed25519: valid = EVP_PKEY_public_check(context)
        }
        guard valid == 1 else {
            throw refused(
                "is not a usable \(kind) key (\(OpenSSLErrorQueue.drain() ?? "its public numbers are invalid"))")
        }
    }

    /// The label of a `-----BEGIN LABEL-----` line, reduced to characters safe to print.
    static func pemLabel(after start: Substring) -> String {
        let label = start.prefix(while: { $0 != "-" && $0 != "\n" && $0 != "\r" }).prefix(40)
        let safe = label.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == " " || $0 == "#") }
        return String(safe)
    }

    /// How often the ASCII `needle` occurs in `text`, compared byte by byte: String's own search compares
    /// Characters and took about 28 µs per key.
    static func occurrences(of needle: String, in text: String) -> Int {
        let pattern = Array(needle.utf8)
        var text = text
        return text.withUTF8 { bytes in
            guard let first = pattern.first, bytes.count >= pattern.count else { return 0 }
            var count = 0
            var start = 0
            while start <= bytes.count - pattern.count {
                if bytes[start] == first, pattern.indices.allSatisfy({ bytes[start + $0] == pattern[$0] }) {
                    count += 1
                    start += pattern.count
                } else {
                    start += 1
                }
            }
            return count
        }
    }

    static func trimmed(_ text: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(text[first...last])
    }
}
