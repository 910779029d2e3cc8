import GatewayCore

/// The engine's in-memory view of the identities table: parent links and cloud states,
/// so that parent-first and cascade decisions need no query per request.
/// The store stays the truth: entries are set from rows the store returns.
struct IdentityIndex {
    private(set) var entries: [IdentityID: StoredIdentity] = [:]
    private var children: [IdentityID: Set<IdentityID>] = [:]

    init(_ identities: [StoredIdentity] = []) {
        for identity in identities { set(identity) }
    }

    subscript(id: IdentityID) -> StoredIdentity? { entries[id] }

    mutating func set(_ identity: StoredIdentity) {
        if let old = entries[identity.id], let oldParent = old.parent, oldParent != identity.parent {
            children[oldParent]?.remove(identity.id)
        }
        entries[identity.id] = identity
        if let parent = identity.parent { children[parent, default: []].insert(identity.id) }
    }

    /// Children that exist in the cloud or are on their way there or out of it.
    func liveChildren(of id: IdentityID) -> [IdentityID] {
        (children[id] ?? []).filter { child in
            guard let state = entries[child]?.cloudState else { return false }
            return state == .pending || state == .present || state == .deleting
        }.sorted()
    }

    /// Live descendants by level: children first, then grandchildren, …
    func liveLevels(below id: IdentityID) -> [[IdentityID]] {
        var levels: [[IdentityID]] = []
        var level = liveChildren(of: id)
        var seen: Set<IdentityID> = [id]
        while !level.isEmpty {
            level = level.filter { seen.insert($0).inserted }
            if level.isEmpty { break }
            levels.append(level)
            level = level.flatMap { liveChildren(of: $0) }
        }
        return levels
    }

    /// All live descendants, deepest level first (the order a cascade deletes them).
    func liveDescendantsDeepestFirst(of id: IdentityID) -> [IdentityID] {
        liveLevels(below: id).reversed().flatMap { $0 }
    }

    /// The top of the cascade `id` is part of: the highest ancestor that is being deleted
    /// along an unbroken chain of deleting parents (or `id` itself), with `id`'s depth below it.
    func cascadeRoot(of id: IdentityID) -> (root: IdentityID, depth: Int) {
        var root = id
        var depth = 0
        while let parent = entries[root]?.parent, entries[parent]?.cloudState == .deleting, depth < 64 {
            root = parent
            depth += 1
        }
        return (root, depth)
    }

    /// True when `id` exists (created or being created) and is not being deleted.
    func isLive(_ id: IdentityID) -> Bool {
        guard let state = entries[id]?.cloudState else { return false }
        return state == .pending || state == .present
    }
}
