import Foundation
import GatewayCore
import Testing

@testable import IdentityStore

@Suite("Reading the store")
struct QueryTests {
    let temp = TemporaryDirectory()
    let store: IdentityStore

    init() throws { store = try IdentityStore.open(stateDir: temp.stateDir) }

    @Test("pending requests are the queued and in-flight ones, in acceptance order")
    func pendingInOrder() throws {
        let ids = (0..<4).map { _ in IdentityID.random() }
        let requests = try store.accept(ids.map { create($0) })
        try store.apply([
            .sent(correlationID: requests[2].correlationID, timestamp: "2026-11-23T10:15:02.123Z", attempts: 1),
            .acked(correlationID: requests[1].correlationID),
            .failed(correlationID: requests[3].correlationID, error: "Rejected", message: nil),
        ])
        #expect(try store.pendingRequests().map(\.correlationID) == [requests[0], requests[2]].map(\.correlationID))
        #expect(try store.counts() == RequestCounts(queued: 1, inFlight: 1, failed: 1))
    }

    @Test("an identity's requests come oldest first, and the latest is the last accepted")
    func requestsOfIdentity() throws {
        let id = IdentityID.random()
        let other = IdentityID.random()
        let requests = try store.accept([create(id), create(other), update(id), delete(id)])
        #expect(try store.requests(identity: id).map(\.action) == [.create, .update, .delete])
        #expect(try store.latestRequest(identity: id) == requests[3])
        #expect(try store.latestRequest(identity: IdentityID.random()) == nil)
        #expect(try store.request(correlationID: "unknown") == nil)
        #expect(try store.identity(IdentityID.random()) == nil)
    }

    @Test("identities can be listed by parent and cloud state")
    func listByParentAndState() throws {
        let root = IdentityID.random()
        let child = IdentityID.random()
        let grandchild = IdentityID.random()
        let accepted = try store.accept([
            create(root), create(child, parent: root, at: t0.addingTimeInterval(1)),
            create(grandchild, parent: child, at: t0.addingTimeInterval(2)),
        ])
        try store.apply([.acked(correlationID: accepted[0].correlationID)])

        #expect(try store.identities().map(\.id) == [root, child, grandchild])
        #expect(try store.identities(parent: .gateway).map(\.id) == [root])
        #expect(try store.identities(parent: .identity(root)).map(\.id) == [child])
        #expect(try store.identities(cloudStates: [.present]).map(\.id) == [root])
        #expect(try store.identities(parent: .identity(child), cloudStates: [.present]).isEmpty)
        #expect(try store.identities(cloudStates: []).isEmpty)
    }

    @Test("children are the identities under a parent that are not deleted")
    func childrenExcludeDeleted() throws {
        let parent = IdentityID.random()
        let kept = IdentityID.random()
        let gone = IdentityID.random()
        let requests = try store.accept([create(parent), create(kept, parent: parent), create(gone, parent: parent)])
        try store.apply(requests.map { .acked(correlationID: $0.correlationID) })
        let deletion = try store.accept([delete(gone)])
        #expect(Set(try store.children(of: parent).map(\.id)) == [kept, gone])  // deleting still counts
        try store.apply([.acked(correlationID: deletion[0].correlationID)])
        #expect(try store.children(of: parent).map(\.id) == [kept])
    }

    @Test("identities are found by origin prefix, with glob characters in the prefix taken literally")
    func originPrefix() throws {
        let a = IdentityID.random()
        let b = IdentityID.random()
        let star = IdentityID.random()
        let cli = IdentityID.random()
        try store.accept([
            (request: create(a), origin: "file:a.toml"), (request: create(b), origin: "file:b.toml"),
            (request: create(star), origin: "file:x*y.toml"), (request: create(cli), origin: nil),
        ])
        #expect(Set(try store.identities(originPrefix: "file:").map(\.id)) == [a, b, star])
        #expect(try store.identities(originPrefix: "file:x*").map(\.id) == [star])
        #expect(try store.identities(originPrefix: "file:*").isEmpty)
        #expect(try store.identities(originPrefix: "FILE:").isEmpty)
    }

    @Test("the oldest pending request's acceptance time is reported, nil when nothing is pending")
    func oldestPending() throws {
        #expect(try store.oldestPendingAcceptedAt() == nil)
        let requests = try store.accept([
            create(IdentityID.random(), at: t0), create(IdentityID.random(), at: t0.addingTimeInterval(10)),
        ])
        #expect(try store.oldestPendingAcceptedAt() == StoredTime.truncated(t0))
        try store.apply([.acked(correlationID: requests[0].correlationID)])
        #expect(try store.oldestPendingAcceptedAt() == StoredTime.truncated(t0.addingTimeInterval(10)))
        try store.apply([.acked(correlationID: requests[1].correlationID)])
        #expect(try store.oldestPendingAcceptedAt() == nil)
    }

    @Test("the main queries use indexes, not table scans")
    func queriesUseIndexes() throws {
        func plan(_ sql: String) throws -> String {
            try store.connection.statement("EXPLAIN QUERY PLAN " + sql).rows { $0.text(3) ?? "" }.joined(separator: "; ")
        }
        #expect(try plan("SELECT * FROM requests WHERE state IN ('queued', 'in-flight') ORDER BY sequence")
            .contains("requests_by_state"))
        #expect(try plan("SELECT * FROM requests WHERE identity = 'x' ORDER BY sequence").contains("requests_by_identity"))
        #expect(try plan("SELECT * FROM identities WHERE parent = 'x'").contains("identities_by_parent"))
        #expect(try plan("SELECT * FROM identities WHERE origin GLOB 'file:*'").contains("identities_by_origin"))
        #expect(try plan("SELECT * FROM requests WHERE correlation_id = 'x'").contains("INDEX"))
    }

    @Test("a sound database has no integrity problems")
    func integrity() throws {
        try store.accept([create(IdentityID.random())])
        #expect(try store.integrityProblems().isEmpty)
    }
}
