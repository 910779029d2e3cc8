import Foundation

/// Where tests find the programs they run: environment override first, then the usual places.
///
/// `MOSQUITTO_BIN`, `MOSQUITTO_PASSWD_BIN`, `MOSQUITTO_PUB_BIN`, `OPENSSL_BIN`, `PYTHON3_BIN` and
/// `IDENTITY_RESPONDER_BIN` override the lookup; built products (e.g. `identity-responder`) are looked up beside the running test binary.
public enum TestExecutables {
    /// The mosquitto broker (Debian: /usr/sbin/mosquitto).
    public static var mosquitto: String { find("mosquitto", env: "MOSQUITTO_BIN", extra: ["/usr/sbin", "/usr/local/sbin"]) }
    /// `mosquitto_passwd`, to make password files.
    public static var mosquittoPasswd: String { find("mosquitto_passwd", env: "MOSQUITTO_PASSWD_BIN") }
    /// `mosquitto_pub`, for one-off publishes from tests.
    public static var mosquittoPub: String { find("mosquitto_pub", env: "MOSQUITTO_PUB_BIN") }
    /// The `openssl` command line tool.
    public static var openssl: String { find("openssl", env: "OPENSSL_BIN") }
    /// The python3 that runs the fixtures in Tests/Fixtures.
    public static var python3: String { find("python3", env: "PYTHON3_BIN") }
    /// The cloud-side test responder built from Tests/Fixtures/IdentityResponder.
    public static var identityResponder: String { product("identity-responder", env: "IDENTITY_RESPONDER_BIN") }

    /// An executable product of this package, from the build directory that holds the running tests.
    public static func product(_ name: String, env: String? = nil) -> String {
        if let env, let path = ProcessInfo.processInfo.environment[env], !path.isEmpty { return path }
        return productsDirectory.appendingPathComponent(name).path
    }

    /// The build products directory (`.build/<triple>/debug`), found from the running test binary.
    public static var productsDirectory: URL {
        var url = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0])
        // The test binary is `<products>/<package>PackageTests.xctest` (a file on Linux, a bundle elsewhere).
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("identity-responder").path)
                || url.lastPathComponent == "debug" || url.lastPathComponent == "release"
            {
                return url
            }
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    private static func find(_ name: String, env: String, extra: [String] = []) -> String {
        if let path = ProcessInfo.processInfo.environment[env], !path.isEmpty { return path }
        let searchPath = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
            .split(separator: ":").map(String.init)
        for directory in searchPath + extra + ["/usr/sbin", "/usr/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return name
    }
}
