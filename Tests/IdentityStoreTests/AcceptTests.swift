import Foundation
import GatewayCore
import Testing

@testable import IdentityStore

@Suite("Accepting requests")
struct AcceptTests {
    let temp = TemporaryDirectory()
    let store: IdentityStore

    init() throws { store = try IdentityStore.open(stateDir: temp.stateDir) }

    @Test("accept stores every field and returns the batch with increasing sequences")
    func storesEveryField() throws {
        let parent = IdentityID.random()
        let child = IdentityID.random()
        let request = IdentityRequest(
            action: .create, identity: child, parent: parent, publicKey: samplePublicKey, ack: .none,
            target: "line-3 & co", context: "ctx=1", acceptedAt: t0)
        let accepted = try store.accept([create(parent), request])

        #expect(accepted.count == 2)
        #expect(accepted[0].sequence > 0 && accepted[1].sequence > accepted[0].sequence)
        var expected = request
        expected.sequence = accepted[1].sequence
        expected.acceptedAt = Date(timeIntervalSince1970: 1_790_000_000.123)
        expected.updatedAt = expected.acceptedAt
        #expect(accepted[1] == expected)
        #expect(try store.request(correlationID: request.correlationID) == expected)
    }

    @Test("accepted times are kept to the millisecond, and what accept returns equals what is read back")
    func timesRoundTrip() throws {
        let odd = Date(timeIntervalSince1970: 1_790_000_000.123_456_7)
        let accepted = try store.accept([create(IdentityID.random(), at: odd)])
        #expect(abs(accepted[0].acceptedAt.timeIntervalSince(odd)) < 0.001)
        #expect(try store.request(correlationID: accepted[0].correlationID) == accepted[0])
    }

    @Test("create records the identity as pending with its key, parent and origin")
    func createRecordsIdentity() throws {
        let parent = IdentityID.random()
        let child = IdentityID.random()
        try store.accept([create(parent)], origin: "file:sensors.toml")
        try store.accept([create(child, parent: parent)])

        #expect(
            try store.identity(parent)
                == StoredIdentity(
                    id: parent, parent: nil, publicKey: samplePublicKey, cloudState: .pending,
                    origin: "file:sensors.toml", createdAt: StoredTime.truncated(t0), updatedAt: StoredTime.truncated(t0)))
        let stored = try #require(try store.identity(child))
        #expect(stored.parent == parent && stored.origin == nil && stored.cloudState == .pending)
    }

    @Test("one batch may mix origins: CLI requests and identities.d requests commit together")
    func mixedOrigins() throws {
        let fromCLI = IdentityID.random()
        let fromFile = IdentityID.random()
        try store.accept([(request: create(fromCLI), origin: nil), (request: create(fromFile), origin: "file:a.toml")])
        #expect(try store.identity(fromCLI)?.origin == nil)
        #expect(try store.identity(fromFile)?.origin == "file:a.toml")
    }

    @Test("update changes the key and updatedAt but keeps parent, origin and cloud state")
    func updateChangesKey() throws {
        let parent = IdentityID.random()
        let id = IdentityID.random()
        try store.accept([create(parent), create(id, parent: parent)], origin: "file:x.toml")
        let later = t0.addingTimeInterval(60)
        try store.accept([update(id, at: later)])

        let stored = try #require(try store.identity(id))
        #expect(stored.publicKey == otherPublicKey)
        #expect(stored.parent == parent && stored.origin == "file:x.toml" && stored.cloudState == .pending)
        #expect(stored.createdAt == StoredTime.truncated(t0) && stored.updatedAt == StoredTime.truncated(later))
    }

    @Test("an update without a key leaves the stored key as it was")
    func updateWithoutKey() throws {
        let id = IdentityID.random()
        try store.accept([create(id), update(id, key: nil)])
        #expect(try store.identity(id)?.publicKey == samplePublicKey)
    }

    @Test("delete marks the identity deleting")
    func deleteMarksDeleting() throws {
        let id = IdentityID.random()
        try store.accept([create(id)])
        try store.accept([delete(id)])
        #expect(try store.identity(id)?.cloudState == .deleting)
    }

    @Test("creating a deleted identity again revives it as pending and keeps its createdAt")
    func recreateKeepsCreatedAt() throws {
        let id = IdentityID.random()
        let accepted = try store.accept([create(id), delete(id)])
        try store.apply(accepted.map { .acked(correlationID: $0.correlationID) })
        #expect(try store.identity(id)?.cloudState == .deleted)

        let later = t0.addingTimeInterval(3600)
        try store.accept([create(id, at: later)], origin: "file:back.toml")
        let stored = try #require(try store.identity(id))
        #expect(stored.cloudState == .pending && stored.origin == "file:back.toml")
        #expect(stored.createdAt == StoredTime.truncated(t0) && stored.updatedAt == StoredTime.truncated(later))
    }

    @Test("a batch with an already stored correlation id is refused whole, naming the id")
    func duplicateCorrelationIDRefused() throws {
        let first = try store.accept([create(IdentityID.random())])[0]
        let fresh = IdentityID.random()
        var again = create(IdentityID.random())
        again.correlationID = first.correlationID

        #expect(throws: StoreError.duplicateCorrelationID(first.correlationID)) {
            try store.accept([create(fresh), again])
        }
        #expect(try store.identity(fresh) == nil)
        #expect(try store.pendingRequests().count == 1)
    }

    @Test("update or delete of an identity the store does not hold is refused and stores nothing")
    func unknownIdentityRefused() throws {
        let unknown = IdentityID.random()
        let fresh = IdentityID.random()
        #expect(throws: StoreError.unknownIdentity(.identity(unknown.rawValue))) {
            try store.accept([create(fresh), update(unknown)])
        }
        #expect(throws: StoreError.unknownIdentity(.identity(unknown.rawValue))) {
            try store.accept([delete(unknown)])
        }
        #expect(try store.identity(fresh) == nil)
        #expect(try store.pendingRequests().isEmpty)
    }

    @Test("a create under a parent the store does not hold is refused and stores nothing")
    func unknownParentRefused() throws {
        let parent = IdentityID.random()
        #expect(throws: StoreError.unknownIdentity(.parent(parent.rawValue))) {
            try store.accept([create(IdentityID.random(), parent: parent)])
        }
        #expect(try store.identities().isEmpty)
    }

    @Test("a parent and its child may be created in the same batch, parent first")
    func parentAndChildInOneBatch() throws {
        let parent = IdentityID.random()
        let child = IdentityID.random()
        try store.accept([create(parent), create(child, parent: parent)])
        #expect(try store.children(of: parent).map(\.id) == [child])
    }
}
