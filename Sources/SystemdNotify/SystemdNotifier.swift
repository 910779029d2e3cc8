import Glibc
import Synchronization

/// Tells systemd about the service's state over `$NOTIFY_SOCKET` (sd_notify(3)), one datagram per call.
///
/// Without `NOTIFY_SOCKET` (not started by systemd, or not `Type=notify`) every call does nothing. Sending never
/// blocks and never fails the caller: a notification systemd cannot take is dropped and counted in `failedSends`.
public struct SystemdNotifier: Sendable {
    private let address: NotifySocketAddress?
    private let failures: FailureCount
    /// How often to send `WATCHDOG=1`: half of `WatchdogSec`, or nil when systemd does not watch this process.
    public let watchdogInterval: Duration?

    /// A notifier configured from `environment` (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`); `processID`
    /// is this process, compared with `WATCHDOG_PID`.
    public init(environment: [String: String], processID: Int32 = getpid()) {
        address = environment["NOTIFY_SOCKET"].flatMap(NotifySocketAddress.init)
        failures = FailureCount()
        watchdogInterval = Self.watchdogInterval(environment: environment, processID: processID)
    }

    /// A notifier configured from the process environment.
    public static func fromProcessEnvironment() -> SystemdNotifier {
        var environment: [String: String] = [:]
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            if let value = getenv(name) {
                environment[name] = String(cString: value)
            }
        }
        return SystemdNotifier(environment: environment)
    }

    /// Whether notifications go anywhere (`NOTIFY_SOCKET` is set and usable).
    public var isEnabled: Bool { address != nil }

    /// Notifications that could not be delivered since this notifier was made (its copies share the count).
    public var failedSends: Int { failures.value }

    /// Sends `state` (newline-separated `KEY=value` assignments) as one datagram; true if it was handed to the
    /// kernel. Without `NOTIFY_SOCKET` nothing is sent and the result is false.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let address else { return false }
        let delivered = Self.send(Array(state.utf8), to: address)
        if !delivered {
            failures.increment()
        }
        return delivered
    }

    /// `READY=1`: start-up is complete (configuration and store loaded, control socket listening).
    @discardableResult
    public func ready() -> Bool { notify("READY=1") }

    /// `STATUS=…`: a one-line status shown by `systemctl status`; newlines are replaced by spaces.
    @discardableResult
    public func status(_ text: String) -> Bool {
        notify("STATUS=" + String(text.map { $0.isNewline ? " " : $0 }))
    }

    /// `STOPPING=1`: shutdown has begun.
    @discardableResult
    public func stopping() -> Bool { notify("STOPPING=1") }

    /// `WATCHDOG=1`: the working loop is alive.
    @discardableResult
    public func watchdog() -> Bool { notify("WATCHDOG=1") }

    /// `RELOADING=1` with the monotonic timestamp systemd asks for; send `ready()` when the reload is done.
    @discardableResult
    public func reloading() -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        return notify("RELOADING=1\nMONOTONIC_USEC=\(microseconds)")
    }

    /// Half of `WATCHDOG_USEC` (the margin sd_watchdog_enabled(3) recommends), if the watchdog is meant for
    /// `processID`.
    static func watchdogInterval(environment: [String: String], processID: Int32) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0,
            microseconds <= UInt64(Int64.max)
        else { return nil }
        if let pidText = environment["WATCHDOG_PID"] {
            guard let pid = Int32(pidText), pid == processID else { return nil }
        }
        return .microseconds(Int64(microseconds / 2))
    }

    private static func send(_ bytes: [UInt8], to address: NotifySocketAddress) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return address.withSockaddr { sockaddr, length in
            bytes.withUnsafeBytes { buffer in
                while true {
                    let sent = sendto(
                        descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), sockaddr,
                        length)
                    if sent >= 0 { return sent == buffer.count }
                    if errno != EINTR { return false }
                }
            }
        }
    }
}

/// The shared, thread-safe count of undelivered notifications.
private final class FailureCount: Sendable {
    private let count = Atomic<Int>(0)

    func increment() { count.add(1, ordering: .relaxed) }

    var value: Int { count.load(ordering: .relaxed) }
}
