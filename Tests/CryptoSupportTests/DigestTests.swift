import CryptoSupport
import Testing

@Suite("Digests, MACs and encodings")
struct DigestTests {
    @Test("SHA-256 matches the FIPS 180-2 examples")
    func sha256KnownAnswers() {
        #expect(Hex.encode(SHA256.hash("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.encode(SHA256.hash("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            Hex.encode(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("HMAC-SHA256 matches RFC 4231 test cases 1, 2 and 6")
    func hmacKnownAnswers() {
        #expect(
            Hex.encode(HMACSHA256.authenticate(key: [UInt8](repeating: 0x0b, count: 20), message: "Hi There"))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(
            Hex.encode(HMACSHA256.authenticate(key: Array("Jefe".utf8), message: "what do ya want for nothing?"))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(
            Hex.encode(
                HMACSHA256.authenticate(
                    key: [UInt8](repeating: 0xaa, count: 131),
                    message: "Test Using Larger Than Block-Size Key - Hash Key First"))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test("HMAC-SHA256 accepts an empty key and an empty message")
    func hmacEmptyInputs() {
        #expect(
            Hex.encode(HMACSHA256.authenticate(key: [UInt8](), message: [UInt8]()))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test("base64 matches RFC 4648 and the RFC 6455 sample key")
    func base64KnownAnswers() {
        #expect(Base64.encode([]) == "")
        #expect(Base64.encode(Array("f".utf8)) == "Zg==")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.encode(Array("foo".utf8)) == "Zm9v")
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("the sample nonce".utf8)) == "dGhlIHNhbXBsZSBub25jZQ==")
    }

    @Test("hex is lower case, two digits a byte")
    func hexEncoding() {
        #expect(Hex.encode([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(Hex.encode([UInt8]()) == "")
    }

    @Test("random bytes come in the count asked for and differ between draws")
    func randomBytesDiffer() throws {
        let first = try randomBytes(count: 32)
        let second = try randomBytes(count: 32)
        #expect(first.count == 32)
        #expect(first != second)
        #expect(try randomBytes(count: 0).isEmpty)
    }

    @Test("an OpenSSL failure keeps OpenSSL's reason and names the operation")
    func cryptoErrorKeepsTheQueue() {
        OpenSSLErrorQueue.clear()
        #expect(OpenSSLErrorQueue.drain() == nil)
        let error = CryptoError(operation: "loading ca.pem", reason: "no start line")
        #expect(error.description == "loading ca.pem failed: no start line")
    }
}
