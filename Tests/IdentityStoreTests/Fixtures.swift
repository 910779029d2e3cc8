import Foundation
import GatewayCore
@testable import IdentityStore

/// A PEM the store keeps as text; the store does not parse keys (validation does, before accept).
let samplePublicKey = """
    -----BEGIN PUBLIC KEY-----
    MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
    -----END PUBLIC KEY-----

    """
let otherPublicKey = """
    -----BEGIN PUBLIC KEY-----
    MCowBQYDK2VwAyEAd3GZ8q1xk5yq9cV9tJkPq1q6xGm0Yl3m7sQhZ2mX8Xk=
    -----END PUBLIC KEY-----

    """

/// A fixed instant, so stored times compare exactly.
let t0 = Date(timeIntervalSince1970: 1_790_000_000.123)

func create(_ id: IdentityID, parent: IdentityID? = nil, at time: Date = t0) -> IdentityRequest {
    IdentityRequest(action: .create, identity: id, parent: parent, publicKey: samplePublicKey, acceptedAt: time)
}

func update(_ id: IdentityID, key: String? = otherPublicKey, at time: Date = t0) -> IdentityRequest {
    IdentityRequest(action: .update, identity: id, publicKey: key, acceptedAt: time)
}

func delete(_ id: IdentityID, at time: Date = t0) -> IdentityRequest {
    IdentityRequest(action: .delete, identity: id, acceptedAt: time)
}

extension IdentityStore {
    /// An integer pragma or single-value query, read through the store's own connection.
    func scalar(_ sql: String) throws -> Int64 {
        try connection.statement(sql).firstRow { $0.int64(0) } ?? -1
    }

    func texts(_ sql: String) throws -> [String] {
        try connection.statement(sql).rows { $0.text(0) ?? "" }
    }
}
