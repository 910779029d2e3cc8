import Foundation
import GatewayCore
import Testing
import TestSupport

@testable import IdentityStore

@Suite("Crash safety", .blockingWaits)
struct CrashSafetyTests {
    @Test("every request reported accepted survives SIGKILL at a random moment, 20 kills over one state_dir")
    func acceptedRequestsSurviveKill() throws {
        let writer = try builtExecutable(named: "store-writer")
        let temp = TemporaryDirectory()
        var reported: [String] = []
        let started = ContinuousClock.now

        for kill in 1...20 {
            var child = try ChildProcess(executable: writer, arguments: [temp.stateDir], stderr: .capture)
            var first = try child.readLine(timeout: .seconds(20))
            // The store this test just closed is "in use by" this process for a moment more when another test
            // spawns a child meanwhile: the child's copy of the descriptor table holds the lock until it execs.
            for _ in 0..<20 where first == nil {
                let why = (try? child.readErrorLine(timeout: .seconds(1))) ?? nil
                guard why?.contains("in use by process \(getpid()) ") == true else {
                    Issue.record("kill \(kill): store-writer did not open the store: EOF, \(why ?? "")")
                    return
                }
                usleep(50_000)
                child = try ChildProcess(executable: writer, arguments: [temp.stateDir], stderr: .capture)
                first = try child.readLine(timeout: .seconds(20))
            }
            guard first == "opened" else {
                let why = (try? child.readErrorLine(timeout: .seconds(1))) ?? nil
                Issue.record("kill \(kill): store-writer did not open the store: \(first ?? "EOF"), \(why ?? "")")
                return
            }
            var lines = try child.readLines(for: .milliseconds(Int.random(in: 20...300)))
            child.send(SIGKILL)
            #expect(child.wait() == .signaled(SIGKILL), "kill \(kill): store-writer ended on its own")
            // The kernel closed the child's end of the pipe: what is left ends at EOF, maybe mid-line.
            lines += try child.readAllLines()
            let ids = lines.compactMap { line in line.hasPrefix("accepted ") ? String(line.dropFirst(9)) : nil }
            let unexpected = lines.filter { !$0.hasPrefix("accepted ") }
            #expect(unexpected.isEmpty, "kill \(kill): unexpected output \(unexpected)")
            reported += ids

            // Opening succeeds only if the kernel released the dead writer's lock.
            let store = try IdentityStore.open(stateDir: temp.stateDir)
            defer { store.close() }
            #expect(try store.integrityProblems().isEmpty, "kill \(kill)")
            #expect(try store.texts("PRAGMA foreign_key_check").isEmpty, "kill \(kill)")
            let stored = try store.connection
                .statement("SELECT correlation_id, count(*), min(sequence) FROM requests GROUP BY 1")
                .rows { ($0.text(0) ?? "", $0.int64(1), $0.int64(2)) }
            let byID = Dictionary(uniqueKeysWithValues: stored.map { ($0.0, (count: $0.1, sequence: $0.2)) })
            let missing = reported.filter { byID[$0] == nil }
            let duplicated = reported.filter { (byID[$0]?.count ?? 0) > 1 }
            #expect(missing.isEmpty, "kill \(kill): \(missing.count) accepted requests lost, e.g. \(missing.prefix(3))")
            #expect(duplicated.isEmpty, "kill \(kill): \(duplicated.count) accepted requests stored twice")
            // Reported order is commit order: sequences must rise along it.
            let sequences = reported.compactMap { byID[$0]?.sequence }
            #expect(sequences == sequences.sorted(), "kill \(kill): accepted requests out of order")
            #expect(stored.count >= reported.count)
        }
        let elapsed = ContinuousClock.now - started
        print("crash-safety: 20 kills, \(reported.count) requests reported accepted, all present once, in \(elapsed)")
        #expect(reported.count > 0)
    }
}
