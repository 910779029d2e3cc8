import Foundation
import SystemdNotify
import Testing
import TestSupport

@Suite("notifications over NOTIFY_SOCKET")
struct SystemdNotifierTests {
    private func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/notify-XXXXXX").utf8CString)
        let path = try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) })
        return String(cString: path)
    }

    @Test("without NOTIFY_SOCKET nothing is sent and nothing counts as a failure")
    func disabledWithoutSocket() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(!notifier.ready())
        #expect(notifier.failedSends == 0)
        #expect(notifier.watchdogInterval == nil)
    }

    @Test("each state reaches a socket file as one datagram, in order")
    func pathSocket() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let listener = try NotifySocketListener(directory: directory)
        defer { listener.stop() }
        let notifier = SystemdNotifier(environment: listener.environment)
        #expect(notifier.isEnabled)
        #expect(notifier.ready())
        #expect(notifier.status("connecting to broker.local:8883"))
        #expect(notifier.watchdog())
        #expect(notifier.reloading())
        #expect(notifier.stopping())
        _ = await listener.first(assigning: "STOPPING", "1")
        let texts = listener.datagrams.map(\.text)
        #expect(texts.count == 5)
        #expect(Array(texts.prefix(3)) == ["READY=1", "STATUS=connecting to broker.local:8883", "WATCHDOG=1"])
        let reload = try #require(listener.datagrams.dropFirst(3).first)
        #expect(reload.assignments["RELOADING"] == "1")
        #expect(UInt64(reload.assignments["MONOTONIC_USEC"] ?? "") ?? 0 > 0)
        #expect(texts.last == "STOPPING=1")
        #expect(notifier.failedSends == 0)
    }

    @Test("an abstract socket name (@name) receives notifications")
    func abstractSocket() async throws {
        let listener = try NotifySocketListener()
        defer { listener.stop() }
        #expect(listener.address.hasPrefix("@"))
        let notifier = SystemdNotifier(environment: listener.environment)
        #expect(notifier.ready())
        let ready = await listener.first(assigning: "READY", "1")
        #expect(ready?.text == "READY=1")
    }

    @Test("a status with newlines stays one STATUS line")
    func statusNewlines() async throws {
        let listener = try NotifySocketListener()
        defer { listener.stop() }
        SystemdNotifier(environment: listener.environment).status("disconnected\nREADY=1")
        let status = await listener.first(where: { $0.text.hasPrefix("STATUS=") })
        #expect(status?.text == "STATUS=disconnected READY=1")
        #expect(status?.assignments["READY"] == nil)
    }

    @Test("a socket that does not exist costs a counted failure, not an error")
    func missingSocket() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": directory + "/absent.sock"])
        #expect(notifier.isEnabled)
        #expect(!notifier.ready())
        let copy = notifier
        #expect(!copy.watchdog())
        #expect(notifier.failedSends == 2)
    }

    @Test("NOTIFY_SOCKET values that are not an absolute path or @name are ignored")
    func unusableAddresses() {
        for value in ["", "relative/notify", "@", "vsock:2:1234", "/" + String(repeating: "a", count: 200)] {
            #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": value]).isEnabled, "\(value)")
        }
    }

    @Test("a notify socket nobody reads never blocks the sender")
    func neverBlocks() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/full.sock"
        let receiver = try bindUnreadSocket(path: path)
        defer { close(receiver) }
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path])
        let started = ContinuousClock.now
        for _ in 0..<2_000 {
            notifier.watchdog()
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(notifier.failedSends > 0)
    }

    private func bindUnreadSocket(path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(descriptor >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0)
        return descriptor
    }
}

@Suite("watchdog interval")
struct WatchdogIntervalTests {
    @Test("the agent pings at half of WATCHDOG_USEC")
    func halfOfWatchdogUsec() {
        let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000"])
        #expect(notifier.watchdogInterval == .seconds(15))
    }

    @Test("WATCHDOG_PID naming this process keeps the watchdog")
    func matchingPid() {
        let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "4242"], processID: 4242)
        #expect(notifier.watchdogInterval == .seconds(10))
    }

    @Test("WATCHDOG_PID naming another process means no watchdog for this one")
    func otherPid() {
        let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"], processID: 4242)
        #expect(notifier.watchdogInterval == nil)
    }

    @Test("a missing, zero or malformed WATCHDOG_USEC means no watchdog")
    func badValues() {
        for value in ["0", "", "-5", "30s", "99999999999999999999999"] {
            #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": value]).watchdogInterval == nil, "\(value)")
        }
        #expect(SystemdNotifier(environment: ["WATCHDOG_PID": "\(getpid())"]).watchdogInterval == nil)
    }
}
