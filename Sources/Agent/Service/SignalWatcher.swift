#if canImport(Glibc)
import Glibc
#endif

/// Delivers SIGTERM, SIGINT and SIGHUP as plain calls on a thread of its own (sigwait),
/// so that nothing runs inside a signal handler.
///
/// `blockSignals()` must run before any other thread starts: threads inherit the mask,
/// and only the watcher's sigwait then receives these signals.
enum SignalWatcher {
    enum Signal: Sendable { case terminate(Int32), reload }

    static func blockSignals() {
        var set = signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // A control client that hangs up must not kill the agent on the next write.
        signal(SIGPIPE, SIG_IGN)
    }

    static func start(_ handler: @escaping @Sendable (Signal) -> Void) {
        startThread(name: "signals") {
            var set = signalSet()
            while true {
                var received: Int32 = 0
                guard sigwait(&set, &received) == 0 else { continue }
                handler(received == SIGHUP ? .reload : .terminate(received))
            }
        }
    }

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        return set
    }
}
