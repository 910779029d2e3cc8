import CryptoSupport
import Foundation
import GatewayCore
import TestSupport
import Testing

@Suite("Public keys a device may register", .blockingWaits)
struct PublicKeyInspectorTests {
    /// The rule of the refusal `inspect` throws for `pem`, or nil when it accepted the key.
    func refusal(_ pem: String) -> ValidationError? {
        do {
            _ = try PublicKeyInspector.inspect(pem: pem)
            return nil
        } catch {
            return error
        }
    }

    @Test("accepts RSA 2048 and 3072, EC P-256 and P-384, and Ed25519 keys")
    func acceptsTheSupportedKinds() throws {
        let cases: [([String], PublicKeyKind)] = [
            (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], .rsa(bits: 2048)),
            (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"], .rsa(bits: 3072)),
            (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], .ecP256),
            (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], .ecP384),
            (["-algorithm", "ED25519"], .ed25519),
        ]
        for (arguments, kind) in cases {
            let pem = try KeyMaterial.publicKey(arguments)
            #expect(try PublicKeyInspector.inspect(pem: pem) == kind)
        }
    }

    @Test("accepts a key with CRLF line ends and surrounding blank lines")
    func acceptsCRLFAndWhitespace() throws {
        let pem = try KeyMaterial.publicKey(["-algorithm", "ED25519"])
        let crlf = "\n\n  " + pem.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n\n"
        #expect(try PublicKeyInspector.inspect(pem: crlf) == .ed25519)
    }

    @Test("refuses private keys in every PEM form without quoting them")
    func refusesPrivateKeys() throws {
        let pair = try KeyMaterial.keyPair(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let keyFile = try KeyMaterial.write(pair.privateKey)
        let traditional = try KeyMaterial.openssl(["ec", "-in", keyFile])
        let encrypted = try KeyMaterial.openssl([
            "pkcs8", "-topk8", "-in", keyFile, "-passout", "pass:secret", "-v2", "aes-256-cbc",
        ])
        let rsa = try KeyMaterial.keyPair(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]).privateKey
        let rsaTraditional = try KeyMaterial.openssl(["rsa", "-in", KeyMaterial.write(rsa), "-traditional"])
        for privateKey in [pair.privateKey, traditional, encrypted, rsaTraditional, pair.publicKey + pair.privateKey] {
            let error = try #require(refusal(privateKey))
            #expect(error.field == "publicKey")
            #expect(error.rule == "this is a PRIVATE key; give the public key (openssl pkey -pubout)")
            for line in privateKey.split(separator: "\n") where !line.hasPrefix("-----") {
                #expect(!error.description.contains(line))
            }
        }
    }

    @Test("refuses RSA keys shorter than 2048 bits")
    func refusesShortRSA() throws {
        let pem = try KeyMaterial.publicKey(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"])
        #expect(refusal(pem)?.rule == "RSA key has 1024 bits; at least 2048 are required")
    }

    @Test("refuses EC keys on curves other than P-256 and P-384")
    func refusesOtherCurves() throws {
        for curve in ["secp256k1", "P-521", "brainpoolP256r1"] {
            let pem = try KeyMaterial.publicKey(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:\(curve)"])
            let rule = try #require(refusal(pem)?.rule)
            #expect(rule.hasPrefix("EC key is on curve "))
            #expect(rule.hasSuffix("; only P-256 and P-384 are accepted"))
        }
    }

    @Test("refuses an EC key given with explicit curve parameters")
    func refusesExplicitCurveParameters() throws {
        let pair = try KeyMaterial.keyPair(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let explicit = try KeyMaterial.openssl([
            "ec", "-in", KeyMaterial.write(pair.privateKey), "-pubout", "-param_enc", "explicit",
        ])
        #expect(refusal(explicit)?.rule == "EC key has explicit curve parameters; use the named curve P-256 or P-384")
    }

    @Test("refuses Ed448, X25519 and DSA keys, naming the type")
    func refusesOtherTypes() throws {
        let x25519 = try KeyMaterial.publicKey(["-algorithm", "X25519"])
        let ed448 = try KeyMaterial.publicKey(["-algorithm", "ED448"])
        let dsaParameters = try KeyMaterial.openssl([
            "genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:1024",
        ])
        let dsa = try KeyMaterial.publicKey(["-paramfile", KeyMaterial.write(dsaParameters)])
        for (pem, name) in [(x25519, "X25519"), (ed448, "ED448"), (dsa, "DSA")] {
            let rule = try #require(refusal(pem)?.rule)
            #expect(rule.hasPrefix("key type \(name) is not accepted"), "\(rule)")
        }
    }

    @Test("refuses a certificate, a certificate request and a PKCS#1 RSA public key, saying how to convert")
    func refusesOtherPEMKinds() throws {
        let pair = try KeyMaterial.keyPair(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let keyFile = try KeyMaterial.write(pair.privateKey)
        let certificate = try KeyMaterial.openssl([
            "req", "-x509", "-new", "-key", keyFile, "-subj", "/CN=device", "-days", "1",
        ])
        let request = try KeyMaterial.openssl(["req", "-new", "-key", keyFile, "-subj", "/CN=device"])
        let rsa = try KeyMaterial.keyPair(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        let pkcs1 = try KeyMaterial.openssl([
            "rsa", "-pubin", "-in", KeyMaterial.write(rsa.publicKey), "-RSAPublicKey_out",
        ])
        #expect(refusal(certificate)?.rule.contains("openssl x509 -pubkey -noout") == true)
        #expect(refusal(request)?.rule.contains("openssl req -pubkey -noout") == true)
        #expect(refusal(pkcs1)?.rule.contains("PKCS#1") == true)
    }

    @Test("refuses garbage, empty text and an OpenSSH public key")
    func refusesNonPEM() throws {
        #expect(refusal("")?.rule.hasPrefix("is empty") == true)
        #expect(refusal(" \n ")?.rule.hasPrefix("is empty") == true)
        #expect(refusal("hello world")?.rule.hasPrefix("is not PEM") == true)
        #expect(
            refusal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG4 user@host")?.rule.contains("ssh-keygen -e -m PKCS8")
                == true)
        let base64Only = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="
        #expect(refusal(base64Only)?.rule.hasPrefix("is not PEM") == true)
    }

    @Test("refuses text before or after the key, and two keys at once")
    func refusesJunkAroundTheKey() throws {
        let pem = try KeyMaterial.publicKey(["-algorithm", "ED25519"])
        let other = try KeyMaterial.publicKey(["-algorithm", "ED25519"])
        #expect(refusal(pem + "junk")?.rule.hasPrefix("has text after -----END PUBLIC KEY-----") == true)
        #expect(refusal("junk\n" + pem)?.rule.hasPrefix("has text before") == true)
        #expect(refusal(pem + other)?.rule == "holds more than one PEM block; give exactly one public key")
    }

    @Test("refuses a truncated key, broken base64 and stray bytes after the DER")
    func refusesDamagedKeys() throws {
        let pem = try KeyMaterial.publicKey(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        let lines = pem.split(separator: "\n")
        let truncated = lines.dropLast().joined(separator: "\n")
        #expect(refusal(truncated)?.rule.contains("truncated") == true)

        let missingLine = (lines.prefix(3) + lines.suffix(2)).joined(separator: "\n")
        #expect(refusal(missingLine) != nil)

        let broken = pem.replacingOccurrences(of: lines[2], with: String(lines[2].dropLast(5)) + "!!!!!")
        #expect(refusal(broken)?.rule.hasPrefix("is not valid PEM") == true)

        var der = KeyMaterial.der(ofPEM: pem)
        der.append(contentsOf: [0x05, 0x00])
        #expect(
            refusal(KeyMaterial.pem(der: der, label: "PUBLIC KEY"))?.rule
                == "has 2 stray bytes after the key inside the PEM data")
    }

    @Test("refuses an EC point that is not on the curve")
    func refusesPointOffTheCurve() throws {
        let pem = try KeyMaterial.publicKey(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        var der = KeyMaterial.der(ofPEM: pem)
        der[der.count - 1] ^= 0x01
        let rule = try #require(refusal(KeyMaterial.pem(der: der, label: "PUBLIC KEY"))?.rule)
        #expect(rule.contains("EC P-256") || rule.contains("not a valid SubjectPublicKeyInfo"), "\(rule)")
    }

    @Test("refuses an EC point whose coordinates lie outside the field, on P-256 and P-384", arguments: ["P-256", "P-384"])
    func refusesCoordinatesOutsideTheField(curve: String) throws {
        let pem = try KeyMaterial.publicKey(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:\(curve)"])
        var der = KeyMaterial.der(ofPEM: pem)
        let coordinates = curve == "P-256" ? 64 : 96
        der.replaceSubrange((der.count - coordinates)..., with: repeatElement(0xFF, count: coordinates))
        #expect(refusal(KeyMaterial.pem(der: der, label: "PUBLIC KEY")) != nil)
    }

    @Test("accepts an EC key with a compressed point")
    func acceptsCompressedPoint() throws {
        let pem = try KeyMaterial.publicKey(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let der = KeyMaterial.der(ofPEM: pem)
        // SEQUENCE { the same algorithm identifier, BIT STRING { 02 or 03 (the parity of y), x } }
        let compressed = [0x30, 0x39] + der[2..<23] + [0x03, 0x22, 0x00, 0x02 | (der[90] & 1)] + der[27..<59]
        #expect(try PublicKeyInspector.inspect(pem: KeyMaterial.pem(der: Data(compressed), label: "PUBLIC KEY")) == .ecP256)
    }

    @Test("refuses a PEM block of an unknown label, naming the label")
    func refusesUnknownLabel() {
        let rule = refusal("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")?.rule
        #expect(rule == "is a PEM \"X509 CRL\" block, not a public key; give -----BEGIN PUBLIC KEY-----")
    }

    @Test("refuses text longer than a public key can be")
    func refusesOversizedInput() {
        let rule = refusal(String(repeating: "A", count: PublicKeyInspector.maxPEMBytes + 1))?.rule
        #expect(rule?.hasSuffix("a PEM public key is at most \(PublicKeyInspector.maxPEMBytes) bytes") == true)
    }

    @Test("check fits RequestValidator's public-key hook")
    func checkFitsTheValidator() throws {
        let pem = try KeyMaterial.publicKey(["-algorithm", "ED25519"])
        let hook: @Sendable (String) throws(ValidationError) -> Void = PublicKeyInspector.check
        try hook(pem)
        #expect(throws: ValidationError.self) { try hook("nope") }
    }
}
