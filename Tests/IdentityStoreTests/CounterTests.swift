import Foundation
import GatewayCore
import Testing

@testable import IdentityStore

@Suite("Outbox counters")
struct CounterTests {
    let temp = TemporaryDirectory()
    let stamp = "2026-11-23T10:15:02.123Z"

    @Test("each change is counted in its own transaction, and the totals survive reopening the store")
    func countedAndPersisted() throws {
        var store = try IdentityStore.open(stateDir: temp.stateDir)
        let ids = (0..<5).map { _ in IdentityID.random() }
        let requests = try store.accept(ids.map { create($0) })
        let c = requests.map(\.correlationID)
        try store.apply(c.map { .sent(correlationID: $0, timestamp: stamp, attempts: 1) })
        try store.apply([.sent(correlationID: c[0], timestamp: stamp, attempts: 2)])
        try store.apply([
            .acked(correlationID: c[0]),
            .failed(correlationID: c[1], error: "quota", message: "too many"),
            .failed(correlationID: c[2], error: FailureReason.expired, message: nil),
            .failed(correlationID: c[3], error: FailureReason.noAck, message: nil),
            .acked(correlationID: c[0]),  // a duplicate ack is not counted twice
        ])
        store.close()

        store = try IdentityStore.open(stateDir: temp.stateDir)
        var expected = OutboxCounters()
        expected.accepted = 5
        expected.published = 6
        expected.retried = 1
        expected.acked = 1
        expected.failed = 3
        expected.rejected = 1
        expected.expired = 1
        #expect(try store.counters() == expected)
    }

    @Test("a store from before the counters is seeded from its requests")
    func seededOnMigration() throws {
        let old = try IdentityStore.open(stateDir: temp.stateDir, schemaVersion: 2)
        let requests = try old.accept([create(IdentityID.random()), create(IdentityID.random())])
        try old.apply([
            .sent(correlationID: requests[0].correlationID, timestamp: stamp, attempts: 3),
            .acked(correlationID: requests[0].correlationID),
            .failed(correlationID: requests[1].correlationID, error: "quota", message: nil),
        ])
        old.close()
        let store = try IdentityStore.open(stateDir: temp.stateDir)
        let counters = try store.counters()
        #expect(counters.accepted == 2 && counters.published == 3 && counters.retried == 2)
        #expect(counters.acked == 1 && counters.failed == 1 && counters.rejected == 1 && counters.expired == 0)
    }

    @Test("an operator's retry restarts the request's age")
    func retryRestartsAge() throws {
        let store = try IdentityStore.open(stateDir: temp.stateDir)
        let request = try store.accept([create(IdentityID.random())])[0]
        try store.apply([.failed(correlationID: request.correlationID, error: FailureReason.expired, message: nil)])
        let later = t0.addingTimeInterval(3600)
        let retried = try #require(try store.apply([.retried(correlationID: request.correlationID)], at: later)[0])
        #expect(retried.acceptedAt == StoredTime.truncated(later))
        #expect(try store.request(correlationID: request.correlationID)?.acceptedAt == StoredTime.truncated(later))
    }
}
