import Dispatch
import Foundation
import Glibc
import Synchronization

/// A stand-in for systemd's notify socket: binds a datagram socket, collects every notification with the time it
/// arrived, and gives the `NOTIFY_SOCKET` value to hand to the process under test.
public final class NotifySocketListener: Sendable {
    /// One notification as received.
    public struct Datagram: Sendable, Equatable {
        /// When the listener read it (a background thread reads as soon as it arrives).
        public let receivedAt: ContinuousClock.Instant
        /// The datagram's text, e.g. `"READY=1"` or `"STATUS=connected"`.
        public let text: String

        /// The `KEY=value` assignments of the datagram (one per line).
        public var assignments: [String: String] {
            var result: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                result[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
            return result
        }
    }

    /// What could not be set up, with the address and the system error.
    public struct SetupError: Error, CustomStringConvertible {
        /// What failed, for the test log.
        public let description: String
    }

    /// The value for `NOTIFY_SOCKET`: a path, or `@name` for an abstract socket.
    public let address: String
    private let socketDescriptor: Int32
    private let wakeReader: Int32
    private let wakeWriter: Int32
    private let socketPath: String?
    private let received = Mutex<[Datagram]>([])
    private let readerFinished = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)

    /// A listener on the abstract socket `@name` (no file; gone when the listener stops).
    public convenience init(abstractName: String = "gateway-agent-notify-\(UInt32.random(in: 0...UInt32.max))") throws
    {
        try self.init(address: "@" + abstractName, path: nil)
    }

    /// A listener on a socket file `notify.sock` inside `directory`, which the caller owns and removes.
    public convenience init(directory: String) throws {
        let path = directory + "/notify.sock"
        try self.init(address: path, path: path)
    }

    private init(address: String, path: String?) throws {
        self.address = address
        self.socketPath = path
        var bytes = Array(address.utf8)
        if path == nil { bytes[0] = 0 }
        var socketAddress = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: socketAddress.sun_path)
        guard bytes.count < capacity else {
            throw SetupError(description: "notify socket address \(address) is longer than \(capacity - 1) bytes")
        }
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(
            MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + (path == nil ? 0 : 1))

        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw SetupError(description: "socket(AF_UNIX, SOCK_DGRAM) failed: \(String(cString: strerror(errno)))")
        }
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw SetupError(description: "binding the notify socket \(address) failed: \(reason)")
        }
        if let path {
            // The process under test may run as another user (e.g. after dropping privileges).
            chmod(path, 0o666)
        }
        // A pipe wakes the reader thread when the listener stops, so it never polls on a timer.
        let wakePipe: (read: Int32, write: Int32)
        do {
            wakePipe = try closeOnExecPipe(for: "the notify listener's wake-up")
        } catch {
            close(descriptor)
            throw SetupError(description: error.description)
        }
        socketDescriptor = descriptor
        wakeReader = wakePipe.read
        wakeWriter = wakePipe.write
        let thread = Thread { [self] in readLoop() }
        thread.name = "NotifySocketListener"
        thread.start()
    }

    deinit {
        stop()
    }

    /// `["NOTIFY_SOCKET": address]`, to merge into the child's environment.
    public var environment: [String: String] { ["NOTIFY_SOCKET": address] }

    /// Every datagram received so far, oldest first.
    public var datagrams: [Datagram] { received.withLock { $0 } }

    /// The first datagram (already received or arriving within `timeout`) for which `matches` is true.
    public func first(
        where matches: @Sendable (Datagram) -> Bool, timeout: Duration = .seconds(5)
    ) async -> Datagram? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let found = datagrams.first(where: matches) { return found }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The first datagram that assigns `value` to `key` (e.g. `"READY"`, `"1"`), waiting up to `timeout`.
    public func first(assigning key: String, _ value: String, timeout: Duration = .seconds(5)) async -> Datagram? {
        await first(where: { $0.assignments[key] == value }, timeout: timeout)
    }

    /// Stops reading and closes the socket (removing its file); datagrams already received stay readable.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWriter, &byte, 1)
        readerFinished.wait()
        close(socketDescriptor)
        close(wakeReader)
        close(wakeWriter)
        if let socketPath { unlink(socketPath) }
    }

    private func readLoop() {
        defer { readerFinished.signal() }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var descriptors = [
                pollfd(fd: socketDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&descriptors, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if descriptors[1].revents != 0 { return }
            let count = buffer.withUnsafeMutableBytes { recv(socketDescriptor, $0.baseAddress, $0.count, 0) }
            guard count >= 0 else {
                if errno == EINTR || errno == EAGAIN { continue }
                return
            }
            let datagram = Datagram(
                receivedAt: .now, text: String(decoding: buffer[0..<count], as: UTF8.self))
            received.withLock { $0.append(datagram) }
        }
    }
}
