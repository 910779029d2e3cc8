import Glibc

/// Runs `body` on a new detached thread: the tunnel's blocking socket work stays off Swift's cooperative pool.
func startDetachedThread(_ body: @escaping @Sendable () -> Void) throws(SystemCallError) {
    final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Work(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(
        &thread, nil,
        { context in
            Unmanaged<Work>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
    guard result == 0 else {
        Unmanaged<Work>.fromOpaque(context).release()
        throw SystemCallError(call: "pthread_create", code: result)
    }
    pthread_detach(thread)
}
