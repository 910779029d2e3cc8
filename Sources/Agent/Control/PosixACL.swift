#if canImport(Glibc)
import Glibc
#endif
import CLinuxShims

/// Grants one extra group read+write on a file through a POSIX access ACL, so that
/// `agent.readers_group` can connect to the 0660 control socket without widening its mode.
///
/// The ACL is the kernel's `system.posix_acl_access` xattr: a version word, then
/// (tag, permissions, id) entries; linking libacl for one call is not worth a dependency.
enum PosixACL {
    private static let version: UInt32 = 2
    private static let userObj: UInt16 = 0x01, groupObj: UInt16 = 0x04, group: UInt16 = 0x08
    private static let mask: UInt16 = 0x10, other: UInt16 = 0x20
    private static let undefinedID: UInt32 = UInt32.max

    /// nil on success, else why it failed (e.g. the file system has no ACL support).
    static func grantGroup(_ gid: UInt32, readWriteOn path: String) -> String? {
        var blob: [UInt8] = []
        func append32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { blob.append(contentsOf: $0) } }
        func append16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { blob.append(contentsOf: $0) } }
        func entry(_ tag: UInt16, _ permissions: UInt16, _ id: UInt32) {
            append16(tag)
            append16(permissions)
            append32(id)
        }
        append32(version)
        entry(userObj, 6, undefinedID)
        entry(groupObj, 6, undefinedID)
        entry(group, 6, gid)
        entry(mask, 6, undefinedID)
        entry(other, 0, undefinedID)
        let rc = blob.withUnsafeBytes { gateway_set_access_acl(path, $0.baseAddress, $0.count) }
        return rc == 0 ? nil : String(cString: strerror(errno))
    }
}
