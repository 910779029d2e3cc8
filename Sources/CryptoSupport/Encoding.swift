import COpenSSL

/// Lower-case hexadecimal text, as SigV4 and logs print digests.
public enum Hex {
    /// `bytes` as two lower-case hex digits each.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Standard base64 (RFC 4648 §4, padded), e.g. for the WebSocket `Sec-WebSocket-Key`.
public enum Base64 {
    /// `bytes` as padded base64 text without line breaks.
    public static func encode(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "" }
        var out = [UInt8](repeating: 0, count: (bytes.count + 2) / 3 * 4 + 1)
        let written = bytes.withUnsafeBufferPointer { input in
            EVP_EncodeBlock(&out, input.baseAddress, Int32(input.count))
        }
        return String(decoding: out.prefix(Int(written)), as: UTF8.self)
    }
}

/// `count` bytes from OpenSSL's CSPRNG, for WebSocket keys and masks.
public func randomBytes(count: Int) throws(CryptoError) -> [UInt8] {
    precondition(count >= 0, "randomBytes(count:) needs a count of zero or more")
    var bytes = [UInt8](repeating: 0, count: count)
    guard count > 0 else { return bytes }
    OpenSSLErrorQueue.clear()
    guard RAND_bytes(&bytes, Int32(count)) == 1 else {
        throw CryptoError(failed: "drawing \(count) random bytes")
    }
    return bytes
}
