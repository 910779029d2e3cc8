import COpenSSL

/// SHA-256 (FIPS 180-4) through OpenSSL's EVP interface.
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = Array(bytes).withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        // EVP_Digest fails only when OpenSSL cannot allocate or lacks SHA-256 altogether:
        // no caller could act on that, and carrying on with a wrong digest would be worse.
        precondition(ok == 1, "SHA-256 unavailable: \(OpenSSLErrorQueue.drain() ?? "no reason given")")
        return Array(digest.prefix(Int(length)))
    }

    /// The digest of the UTF-8 bytes of `text`.
    public static func hash(_ text: String) -> [UInt8] {
        hash(Array(text.utf8))
    }
}

/// HMAC-SHA256 (RFC 2104) through OpenSSL's one-shot `HMAC()`.
public enum HMACSHA256 {
    /// The 32-byte authentication code of `message` under `key`.
    public static func authenticate(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let keyBytes = Array(key)
        let messageBytes = Array(message)
        let result = keyBytes.withUnsafeBytes { keyBuffer in
            messageBytes.withUnsafeBytes { messageBuffer in
                // A zero-length key still needs a non-null pointer for HMAC().
                HMAC(
                    EVP_sha256(), keyBuffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(keyBuffer.count),
                    messageBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBuffer.count, &mac, &length)
            }
        }
        // As with SHA-256: failing here means OpenSSL itself is unusable.
        precondition(result != nil, "HMAC-SHA256 unavailable: \(OpenSSLErrorQueue.drain() ?? "no reason given")")
        return Array(mac.prefix(Int(length)))
    }

    /// The authentication code of the UTF-8 bytes of `message`.
    public static func authenticate(key: some Collection<UInt8>, message: String) -> [UInt8] {
        authenticate(key: key, message: Array(message.utf8))
    }
}
