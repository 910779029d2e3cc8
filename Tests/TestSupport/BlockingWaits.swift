import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing

/// `@Suite("…", .blockingWaits)`: the suite's tests run on threads of their own instead of Swift concurrency's.
///
/// Swift concurrency has one thread per core (two on a small CI machine). A test that waits synchronously, for a
/// child process, a socket or a CLI run, holds one of them for the whole wait; two such tests at once and every
/// other test, and every task of the code under test, stops until they are done, so timing checks elsewhere fail.
/// Suites that keep waiting synchronously (`AgentUnderTest`, CLI runs, `ChildProcess`) take this trait. Suites
/// that time the code under test in-process stay on the shared threads, where these waits cannot delay them, and
/// start their synchronous fixtures with `onOwnThread`.
public struct BlockingWaitsTrait: TestTrait, SuiteTrait, TestScoping {
    /// Applies to every test of a suite that has it.
    public var isRecursive: Bool { true }

    /// A scope for each test function; a suite itself needs none.
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        test.isSuite ? nil : self
    }

    /// Runs the test with the blocking-waits threads as its preferred executor.
    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(BlockingWaitsExecutor.shared) { try await function() }
    }
}

extension BlockingWaitsTrait {
    /// True on one of the threads that run `.blockingWaits` tests (checked synchronously, where the code runs).
    public static var isCurrentThread: Bool { BlockingWaitsExecutor.isCurrentThread }
}

extension Trait where Self == BlockingWaitsTrait {
    /// The tests wait synchronously for processes or sockets: run them on threads of their own.
    public static var blockingWaits: Self { BlockingWaitsTrait() }
}

/// Runs `body` on a thread of its own and suspends until it returns, so a long synchronous start (a server that
/// takes seconds to come up) holds none of Swift concurrency's threads meanwhile.
public func onOwnThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// A fixed set of threads, four per core and at least eight, that run the jobs of tests with `.blockingWaits`.
/// Fixed, so that tests starting brokers and agents still run only a few at a time; more than Swift concurrency's
/// one per core, because these threads mostly wait: with four, a few `check` runs against hanging endpoints held
/// them all for seconds, and another test's 50 ms status poll went unanswered for 15 s.
final class BlockingWaitsExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` is a Mutex; `available` counts its entries.
    static let shared = BlockingWaitsExecutor(threads: max(8, 4 * ProcessInfo.processInfo.activeProcessorCount))

    /// Set (to any non-nil value) on this executor's threads only.
    private static let threadMarker: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static var isCurrentThread: Bool { pthread_getspecific(threadMarker) != nil }

    private let jobs = Mutex<[UnownedJob]>([])
    private let available = DispatchSemaphore(value: 0)

    private init(threads: Int) {
        for _ in 0..<threads {
            Thread { [self] in work() }.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        available.signal()
    }

    private func work() {
        pthread_setspecific(Self.threadMarker, UnsafeRawPointer(bitPattern: 1))
        while true {
            available.wait()
            guard let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
