import COpenSSL

/// The SubjectPublicKeyInfo of an EC P-256 or P-384 key with an uncompressed point, checked without
/// `d2i_PUBKEY`: OpenSSL 3 looks up a key-management method for every key it decodes, which was a third
/// of the agent's CPU time per accepted create. DER is canonical, so such a key is exactly a fixed prefix
/// (named-curve algorithm identifier, BIT STRING header) followed by the point.
enum NamedCurveKey {
    private struct Curve {
        let kind: PublicKeyKind
        let prefix: [UInt8]
        /// 0x04, then x and y.
        let pointBytes: Int
        let group: OpaquePointer?
    }

    // Created once and only read afterwards (OpenSSL allows concurrent use of a const EC_GROUP).
    nonisolated(unsafe) private static let curves = [
        Curve(
            kind: .ecP256,
            prefix: [
                0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
            ],
            pointBytes: 65, group: EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)),
        Curve(
            kind: .ecP384,
            prefix: [
                0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04,
                0x00, 0x22, 0x03, 0x62, 0x00,
            ],
            pointBytes: 97, group: EC_GROUP_new_by_curve_name(NID_secp384r1)),
    ]

    /// The kind of `der` when it is such a key and its point is on the curve; nil for anything else, which
    /// the caller then decodes the general way (that also explains a refusal).
    static func kind(of der: [UInt8]) -> PublicKeyKind? {
        for curve in curves where der.count == curve.prefix.count + curve.pointBytes && der.starts(with: curve.prefix) {
            guard let group = curve.group, der[curve.prefix.count] == 0x04, let point = EC_POINT_new(group) else { return nil }
            defer { EC_POINT_free(point) }
            // oct2point refuses coordinates outside the field and points off the curve; a quick public-key
            // check asks no more of a cofactor-1 curve (an uncompressed point is never the point at infinity).
            let valid = der[curve.prefix.count...].withUnsafeBufferPointer { bytes in
                EC_POINT_oct2point(group, point, bytes.baseAddress, bytes.count, nil) == 1
                    && EC_POINT_is_on_curve(group, point, nil) == 1
            }
            return valid ? curve.kind : nil
        }
        return nil
    }
}
