// store-writer STATE_DIR
//
// Opens the identity store in STATE_DIR and accepts batches of 1–20 requests until killed, printing
// `accepted <correlationId>` for each request only after its batch's commit returned. Now and then it also
// records sends and acks, so kills land in `apply` transactions too. The crash-safety test kills it with SIGKILL
// at random moments and checks that every printed id is in the store exactly once.
import FoundationEssentials
import GatewayCore
import Glibc
import IdentityStore

/// Writes straight to fd 1: no stdio buffer may hold a line back after its commit.
func emit(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR { continue }
            exit(3)
        }
        bytes = bytes.dropFirst(written)
    }
}

func fail(_ message: String) -> Never {
    var line = "store-writer: \(message)\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count == 2 else { fail("usage: store-writer STATE_DIR") }

let store: IdentityStore
do {
    store = try IdentityStore.open(stateDir: arguments[1])
} catch {
    fail("\(error)")
}
emit("opened\n")

let publicKey = """
    -----BEGIN PUBLIC KEY-----
    MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
    -----END PUBLIC KEY-----

    """
var living: [IdentityID]
do {
    living = try store.identities(cloudStates: [.pending, .present]).map(\.id)
} catch {
    fail("\(error)")
}

/// A create (of a new identity, under the gateway or a living one), an update or a delete of a living one.
func nextRequest(living: inout [IdentityID]) -> IdentityRequest {
    let roll = Int.random(in: 0..<100)
    if roll < 15, let id = living.randomElement() {
        return IdentityRequest(action: .update, identity: id, publicKey: publicKey)
    }
    if roll < 25, let index = living.indices.randomElement() {
        let id = living.remove(at: index)
        return IdentityRequest(action: .delete, identity: id)
    }
    let id = IdentityID.random()
    let parent = Bool.random() ? living.randomElement() : nil
    return IdentityRequest(action: .create, identity: id, parent: parent, publicKey: publicKey, context: "crash-test")
}

var batches = 0
while true {
    let batch = (0..<Int.random(in: 1...20)).map { _ in nextRequest(living: &living) }
    do {
        let accepted = try store.accept(batch)
        living += accepted.filter { $0.action == .create }.map(\.identity)
        emit(accepted.map { "accepted \($0.correlationID)\n" }.joined())
    } catch {
        fail("\(error)")
    }
    batches += 1
    if batches % 3 == 0 {
        do {
            let pending = try store.pendingRequests().prefix(5)
            let timestamp = "2026-01-01T00:00:00.000Z"
            try store.apply(pending.map { .sent(correlationID: $0.correlationID, timestamp: timestamp, attempts: 1) })
            try store.apply(pending.prefix(3).map { .acked(correlationID: $0.correlationID) })
        } catch {
            fail("\(error)")
        }
    }
}
