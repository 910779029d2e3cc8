/// A device public key the cloud accepts, as found by `PublicKeyInspector`.
public enum PublicKeyKind: Equatable, Sendable, CustomStringConvertible {
    /// RSA with a modulus of `bits` bits (at least 2048).
    case rsa(bits: Int)
    /// ECDSA on NIST P-256 (prime256v1).
    case ecP256
    /// ECDSA on NIST P-384 (secp384r1).
    case ecP384
    /// Ed25519 (RFC 8410).
    case ed25519

    public var description: String {
        switch self {
        case .rsa(let bits): "RSA \(bits)"
        case .ecP256: "EC P-256"
        case .ecP384: "EC P-384"
        case .ed25519: "Ed25519"
        }
    }
}
