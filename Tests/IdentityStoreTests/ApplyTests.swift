import Foundation
import GatewayCore
import Testing

@testable import IdentityStore

@Suite("Recording what happened to requests")
struct ApplyTests {
    let temp = TemporaryDirectory()
    let store: IdentityStore
    let stamp = "2026-11-23T10:15:02.123Z"

    init() throws { store = try IdentityStore.open(stateDir: temp.stateDir) }

    @discardableResult
    func accepted(_ request: IdentityRequest) throws -> IdentityRequest { try store.accept([request])[0] }

    @Test("sent makes a request in-flight, keeps the first timestamp and records the attempt count")
    func sentKeepsFirstTimestamp() throws {
        let request = try accepted(create(IdentityID.random()))
        let later = t0.addingTimeInterval(5)
        let first = try store.apply([.sent(correlationID: request.correlationID, timestamp: stamp, attempts: 1)], at: later)
        #expect(first[0]?.state == .inFlight && first[0]?.timestamp == stamp && first[0]?.attempts == 1)
        #expect(first[0]?.updatedAt == StoredTime.truncated(later))

        try store.apply([.sent(correlationID: request.correlationID, timestamp: "2027-01-01T00:00:00.000Z", attempts: 2)])
        let stored = try #require(try store.request(correlationID: request.correlationID))
        #expect(stored.timestamp == stamp && stored.attempts == 2 && stored.state == .inFlight)
    }

    @Test("an acked create makes the identity present")
    func ackedCreate() throws {
        let id = IdentityID.random()
        let request = try accepted(create(id))
        let result = try store.apply([.acked(correlationID: request.correlationID)])
        #expect(result[0]?.state == .acked)
        #expect(try store.identity(id)?.cloudState == .present)
    }

    @Test("an acked delete makes the identity deleted")
    func ackedDelete() throws {
        let id = IdentityID.random()
        try store.apply([.acked(correlationID: try accepted(create(id)).correlationID)])
        try store.apply([.acked(correlationID: try accepted(delete(id)).correlationID)])
        #expect(try store.identity(id)?.cloudState == .deleted)
    }

    @Test("a failed create makes the identity failed and keeps the cloud's error and message")
    func failedCreate() throws {
        let id = IdentityID.random()
        let request = try accepted(create(id))
        let result = try store.apply([
            .failed(correlationID: request.correlationID, error: "InvalidPublicKey", message: "key too short")
        ])
        #expect(result[0]?.state == .failed)
        #expect(result[0]?.lastError == "InvalidPublicKey" && result[0]?.lastErrorMessage == "key too short")
        #expect(try store.identity(id)?.cloudState == .failed)
        #expect(try store.request(correlationID: request.correlationID) == result[0])
    }

    @Test("a failed delete leaves the identity present")
    func failedDelete() throws {
        let id = IdentityID.random()
        try store.apply([.acked(correlationID: try accepted(create(id)).correlationID)])
        let deletion = try accepted(delete(id))
        try store.apply([.failed(correlationID: deletion.correlationID, error: FailureReason.noAck, message: nil)])
        #expect(try store.identity(id)?.cloudState == .present)
    }

    @Test("an acked update makes a failed identity present again")
    func ackedUpdateAfterFailedCreate() throws {
        let id = IdentityID.random()
        try store.apply([.failed(correlationID: try accepted(create(id)).correlationID, error: "x", message: nil)])
        try store.apply([.acked(correlationID: try accepted(update(id)).correlationID)])
        #expect(try store.identity(id)?.cloudState == .present)
    }

    @Test("retry puts a failed request back in the queue with attempts 0, same correlation id and timestamp")
    func retryRequeues() throws {
        let id = IdentityID.random()
        let request = try accepted(create(id))
        try store.apply([
            .sent(correlationID: request.correlationID, timestamp: stamp, attempts: 5),
            .failed(correlationID: request.correlationID, error: FailureReason.noAck, message: nil),
        ])
        #expect(try store.identity(id)?.cloudState == .failed)

        let result = try store.apply([.retried(correlationID: request.correlationID)])
        let retried = try #require(result[0])
        #expect(retried.state == .queued && retried.attempts == 0)
        #expect(retried.lastError == nil && retried.lastErrorMessage == nil)
        #expect(retried.correlationID == request.correlationID && retried.timestamp == stamp)
        #expect(retried.sequence == request.sequence)
        #expect(try store.identity(id)?.cloudState == .pending)
        #expect(try store.pendingRequests().map(\.correlationID) == [request.correlationID])
    }

    @Test("dismiss ends a failed request; it is no longer pending nor counted as failed")
    func dismissEndsFailed() throws {
        let request = try accepted(create(IdentityID.random()))
        try store.apply([.failed(correlationID: request.correlationID, error: "Rejected", message: nil)])
        #expect(try store.counts() == RequestCounts(failed: 1))
        let result = try store.apply([.dismissed(correlationID: request.correlationID)])
        #expect(result[0]?.state == .dismissed)
        #expect(try store.counts() == RequestCounts())
    }

    @Test("changes that do not apply return nil and change nothing, without stopping the rest of the batch")
    func inapplicableChangesAreSkipped() throws {
        let done = try accepted(create(IdentityID.random()))
        let queued = try accepted(create(IdentityID.random()))
        try store.apply([.acked(correlationID: done.correlationID)])
        let before = try store.request(correlationID: done.correlationID)

        let results = try store.apply([
            .acked(correlationID: done.correlationID),  // a duplicate ack
            .failed(correlationID: done.correlationID, error: "late", message: nil),
            .acked(correlationID: "not-a-stored-id"),
            .retried(correlationID: queued.correlationID),  // only failed requests are retried
            .dismissed(correlationID: queued.correlationID),
            .sent(correlationID: queued.correlationID, timestamp: stamp, attempts: 1),
        ])
        #expect(results.prefix(5).allSatisfy { $0 == nil })
        #expect(results[5]?.state == .inFlight)
        #expect(try store.request(correlationID: done.correlationID) == before)
    }

    @Test("a send that did not go out is recorded as the request's last error, state unchanged")
    func sendFailedRecordsError() throws {
        let request = try accepted(create(IdentityID.random()))
        let result = try store.apply([.sendFailed(correlationID: request.correlationID, error: "not connected")])
        #expect(result[0]?.state == .queued && result[0]?.lastError == "not connected")
    }

    @Test("the ack of a create does not revive an identity whose later delete is already accepted")
    func staleCreateAckDoesNotRevive() throws {
        let id = IdentityID.random()
        let creation = try accepted(create(id))
        try accepted(delete(id))
        try store.apply([.acked(correlationID: creation.correlationID)])
        #expect(try store.identity(id)?.cloudState == .deleting)
    }

    @Test("one apply is one transaction: a batch of acks commits together")
    func batchOfAcks() throws {
        let ids = (0..<50).map { _ in IdentityID.random() }
        let requests = try store.accept(ids.map { create($0) })
        let results = try store.apply(requests.map { .acked(correlationID: $0.correlationID) })
        #expect(results.allSatisfy { $0?.state == .acked })
        #expect(try store.identities(cloudStates: [.present]).count == 50)
        #expect(try store.pendingRequests().isEmpty)
    }
}
