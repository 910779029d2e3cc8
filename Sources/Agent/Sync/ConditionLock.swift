#if canImport(Glibc)
import Glibc
#endif
import CLinuxShims
import GatewayCore

/// A mutex with a condition variable, for threads that block (the engine thread, control connections).
/// Swift's `Mutex` has no condition; this wraps pthread's once, here.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Waits are measured on the monotonic clock, immune to wall-clock jumps (NTP on boot).
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (lock held) until signalled or `timeout` passes; spurious wake-ups are the caller's loop's business.
    func wait(timeout: Duration?) {
        guard let timeout else {
            pthread_cond_wait(condition, mutex)
            return
        }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let ms = max(0, timeout.milliseconds)
        var deadline = timespec(
            tv_sec: now.tv_sec + Int(ms / 1000), tv_nsec: now.tv_nsec + Int(ms % 1000) * 1_000_000)
        if deadline.tv_nsec >= 1_000_000_000 {
            deadline.tv_sec += 1
            deadline.tv_nsec -= 1_000_000_000
        }
        pthread_cond_timedwait(condition, mutex, &deadline)
    }

    func broadcast() { pthread_cond_broadcast(condition) }
}

/// Starts a detached OS thread: the engine and each control connection do blocking I/O,
/// which must not occupy Swift concurrency's small cooperative pool.
func startThread(name: String, _ body: @escaping @Sendable () -> Void) {
    final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
    let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(
        &thread, nil,
        { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            // Linux allows 15 bytes plus the terminator.
            gateway_name_this_thread(String(box.name.prefix(15)))
            box.body()
            return nil
        }, box)
    precondition(rc == 0, "cannot start thread \(name): pthread_create returned \(rc)")
    pthread_detach(thread)
}
