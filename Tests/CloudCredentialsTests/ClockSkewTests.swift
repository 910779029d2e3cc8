import FoundationEssentials
import Synchronization
import Testing

@testable import CloudCredentials

@Suite("Clock skew from a server's Date header")
struct ClockSkewTests {
    /// Sun, 06 Nov 1994 08:49:37 GMT.
    static let serverTime = Date(timeIntervalSince1970: 784_111_777)
    static let serverDate = "Sun, 06 Nov 1994 08:49:37 GMT"

    @Test("a server 20 minutes ahead shows this gateway 20 min behind; its half second of resolution is added")
    func measured() throws {
        let skew = try #require(ClockSkew(serverDate: Self.serverDate, receivedAt: Self.serverTime - 1200))
        #expect(skew.seconds == 1200.5)
        #expect(skew.description == "20 min 0 s behind")
        #expect(ClockSkew(seconds: -3725).description == "1 h 2 min 5 s ahead of")
        #expect(ClockSkew(seconds: 0.2).description == "less than 1 s off")
    }

    @Test("no Date header, or one that is not an HTTP date, measures nothing")
    func unreadable() {
        #expect(ClockSkew(serverDate: nil, receivedAt: Self.serverTime) == nil)
        #expect(ClockSkew(serverDate: "yesterday", receivedAt: Self.serverTime) == nil)
    }

    @Test("a refusal from a server 20 minutes ahead corrects the signing time once; a second one changes nothing")
    func signingClockCorrectsOnce() throws {
        let local = Mutex(Self.serverTime - 1200)
        let clock = SigningClock(wallClock: { local.withLock { $0 } })
        #expect(clock.now() == Self.serverTime - 1200)
        let skew = try #require(clock.correct(serverDate: Self.serverDate))
        #expect(skew.seconds == 1200.5)
        #expect(abs(clock.now().timeIntervalSince(Self.serverTime)) <= 1)
        #expect(clock.correct(serverDate: Self.serverDate) == nil)
        #expect(clock.offset == skew)
    }

    @Test("a refusal within the Date header's noise (a revoked key, not a clock) leaves the signing time alone")
    func smallSkewIgnored() {
        let clock = SigningClock(wallClock: { Self.serverTime - 2 })
        #expect(clock.correct(serverDate: Self.serverDate) == nil)
        #expect(clock.correct(serverDate: nil) == nil)
        #expect(clock.now() == Self.serverTime - 2)
    }
}
