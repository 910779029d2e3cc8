import ControlProtocol
import FoundationEssentials
import GatewayCore

/// Turns a create / update / delete command into the requests to store, or refuses it.
///
/// Checks run against the engine's identity index, which `admit` updates as if the requests were
/// already stored, so that commands in one group commit see each other (a parent and its child).
struct RequestIntake {
    let validator: RequestValidator
    let defaultAck: AckMode

    /// The requests for `verb`, deepest-first for a cascade delete; throws the refusal. Changes nothing:
    /// `admit` them once they fit in the outbox.
    func requests(
        verb: ControlVerb, args: ControlArguments, origin: String?, index: inout IdentityIndex, now: Date
    ) throws(ControlError) -> [IdentityRequest] {
        let id = try identityArgument(args.id, field: "id")
        let ack = try ackArgument(args.ack)
        var request = IdentityRequest(
            action: .create, identity: id, ack: ack, target: args.target, context: args.context, acceptedAt: now)
        let existing = index[id]

        switch verb {
        case .create:
            switch existing?.cloudState {
            case .pending?, .present?:
                throw ControlError(.refused, "identity \(id) already exists (\(existing!.cloudState.rawValue)): use `identity update`")
            case .deleting?:
                throw ControlError(.refused, "identity \(id) is being deleted: wait for the delete to be acknowledged")
            case .failed?, .deleted?, nil:
                break
            }
            if let parentText = args.parent {
                let parent = try identityArgument(parentText, field: "parent")
                guard index.isLive(parent) else {
                    throw ControlError(
                        .refused,
                        index[parent] == nil
                            ? "unknown parent \(parent): a parent must be an identity this gateway created (omit --parent for the gateway itself)"
                            : "parent \(parent) \(describeMissing(index[parent])): it cannot have children")
                }
                request.parent = parent
            }
            request.publicKey = args.publicKey
        case .update:
            guard let existing, existing.cloudState == .pending || existing.cloudState == .present else {
                throw ControlError(.refused, "identity \(id) \(describeMissing(existing)): create it first")
            }
            if let parentText = args.parent {
                let parent = try identityArgument(parentText, field: "parent")
                guard parent == existing.parent else {
                    throw ControlError(
                        .refused, "identity \(id) has parent \(existing.parent?.rawValue ?? "gateway"): the parent cannot be changed by an update (delete and create it)")
                }
            }
            request.action = .update
            request.parent = existing.parent
            request.publicKey = args.publicKey
        case .delete:
            guard let existing, existing.cloudState == .pending || existing.cloudState == .present else {
                throw ControlError(.refused, "identity \(id) \(describeMissing(existing)): nothing to delete")
            }
            if args.parent != nil {
                throw ControlError(.invalidInput, "parent: not accepted by delete (the stored parent is used)")
            }
            if args.publicKey != nil {
                throw ControlError(.invalidInput, "publicKey: not accepted by delete")
            }
            let children = index.liveChildren(of: id)
            if !children.isEmpty && args.cascade != true {
                let names = children.prefix(3).map(\.rawValue).joined(separator: ", ")
                throw ControlError(
                    .refused,
                    "identity \(id) has \(children.count) child(ren) (\(names)\(children.count > 3 ? ", …" : "")): delete them first or use --cascade")
            }
            request.action = .delete
            request.parent = existing.parent
        default:
            throw ControlError(.internal, "\(verb.rawValue) is not a request verb")
        }

        do {
            try validator.validate(request)
        } catch {
            throw ControlError(.invalidInput, error.description)
        }

        var requests: [IdentityRequest] = []
        if request.action == .delete {
            // Children first, deepest level first; the scheduler holds each level until the one below is acked.
            for child in index.liveDescendantsDeepestFirst(of: id) where index[child]?.cloudState != .deleting {
                let stored = index[child]!
                requests.append(
                    IdentityRequest(
                        action: .delete, identity: child, parent: stored.parent, ack: ack, target: args.target,
                        context: args.context, acceptedAt: now))
            }
        }
        requests.append(request)
        return requests
    }

    /// Updates the index as if `requests` were stored, once the engine decided there is room for them.
    func admit(_ requests: [IdentityRequest], origin: String?, index: inout IdentityIndex, now: Date) {
        for accepted in requests { index.apply(accepted, origin: origin, now: now) }
    }

    private func describeMissing(_ existing: StoredIdentity?) -> String {
        switch existing?.cloudState {
        case nil: "is unknown to this gateway"
        case .failed?: "was never created (its create failed)"
        case .deleting?: "is being deleted"
        case .deleted?: "was deleted"
        case .pending?, .present?: "exists"
        }
    }

    private func identityArgument(_ text: String?, field: String) throws(ControlError) -> IdentityID {
        guard let text else { throw ControlError(.invalidInput, "\(field): missing (a UUID)") }
        guard let id = IdentityID(text) else {
            throw ControlError(.invalidInput, "\(field): '\(text.prefix(64))' is not a UUID")
        }
        return id
    }

    private func ackArgument(_ text: String?) throws(ControlError) -> AckMode {
        guard let text else { return defaultAck }
        guard let ack = AckMode(rawValue: text) else {
            throw ControlError(.invalidInput, "ack: '\(text.prefix(16))' is not one of all, none")
        }
        return ack
    }
}

extension IdentityIndex {
    /// The effect of accepting `request`, as the store applies it in the same transaction.
    mutating func apply(_ request: IdentityRequest, origin: String?, now: Date) {
        switch request.action {
        case .create:
            let createdAt = self[request.identity]?.createdAt ?? now
            set(
                StoredIdentity(
                    id: request.identity, parent: request.parent, publicKey: request.publicKey, cloudState: .pending,
                    origin: origin, createdAt: createdAt, updatedAt: now))
        case .update:
            guard var identity = self[request.identity] else { return }
            if let key = request.publicKey { identity.publicKey = key }
            identity.updatedAt = now
            set(identity)
        case .delete:
            guard var identity = self[request.identity] else { return }
            identity.cloudState = .deleting
            identity.updatedAt = now
            set(identity)
        }
    }
}
