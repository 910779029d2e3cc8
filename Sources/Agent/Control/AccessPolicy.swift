#if canImport(Glibc)
import Glibc
#endif

/// Who may do what on the control socket, decided from the peer's SO_PEERCRED identity.
///
/// root and the agent's own user may write; members of `agent.control_group` may write;
/// members of `agent.readers_group` may only read (`get`, `list`, `status`); anyone else is refused.
struct AccessPolicy: Sendable {
    enum Access: Equatable { case write, read, deny }

    var agentUID: UInt32
    /// gid of `agent.control_group` (the agent's own group when unset).
    var controlGID: UInt32
    /// gid of `agent.readers_group`, nil when unset.
    var readersGID: UInt32?

    /// `groups` are all groups of the peer: its primary gid and its supplementary groups.
    func access(uid: UInt32, groups: Set<UInt32>) -> Access {
        if uid == 0 || uid == agentUID || groups.contains(controlGID) { return .write }
        if let readersGID, groups.contains(readersGID) { return .read }
        return .deny
    }

    /// The primary gid plus the supplementary groups from the group database.
    static func groups(ofUID uid: UInt32, primaryGID gid: UInt32) -> Set<UInt32> {
        var result: Set<UInt32> = [gid]
        guard let passwd = getpwuid(uid), let name = passwd.pointee.pw_name else { return result }
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, gid, &list, &count) == -1 {
            list = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(name, gid, &list, &count)
        }
        result.formUnion(list.prefix(Int(max(0, count))))
        return result
    }

    /// gid of a group name; nil when there is no such group.
    static func gid(ofGroup name: String) -> UInt32? {
        guard let group = getgrnam(name) else { return nil }
        return group.pointee.gr_gid
    }
}
