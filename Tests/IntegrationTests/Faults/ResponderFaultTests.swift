import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// The cloud side misbehaves while a stream of creates goes through: acks late, twice, never, out of order,
/// malformed, or errors. The agent must end with every request acked once, whatever the responder did.
@Suite("Faults: responder", .serialized, .blockingWaits)
struct ResponderFaultTests {
    /// One misbehaviour: the responder's behaviour JSON, and how long it lasts before the responder answers
    /// properly again (nil: for the whole stream; the behaviour must let every request through by itself).
    struct Misbehaviour: Sendable, CustomTestStringConvertible {
        var name: String
        var behaviour: String
        var lasts: Duration?
        var testDescription: String { name }
    }

    static let misbehaviours = [
        // Acks after the 1 s ack timeout: each request is sent twice, and both sends are acked.
        Misbehaviour(name: "late", behaviour: #"{"mode":"late","delayMs":1500}"#),
        Misbehaviour(name: "twice", behaviour: #"{"mode":"twice"}"#),
        Misbehaviour(name: "out-of-order", behaviour: #"{"mode":"out-of-order","delayMs":600}"#),
        Misbehaviour(name: "first-send-ignored", behaviour: #"{"mode":"drop-first-n","n":1}"#),
        Misbehaviour(name: "never", behaviour: #"{"mode":"never"}"#, lasts: .milliseconds(2500)),
        Misbehaviour(name: "malformed-json", behaviour: #"{"mode":"malformed","malformed":"json"}"#, lasts: .seconds(2)),
        Misbehaviour(
            name: "malformed-encoding", behaviour: #"{"mode":"malformed","malformed":"encoding"}"#, lasts: .seconds(2)),
        Misbehaviour(
            name: "malformed-oversized", behaviour: #"{"mode":"malformed","malformed":"oversized"}"#, lasts: .seconds(2)),
    ]

    @Test("a misbehaving responder: every request still acked once, none applied twice", arguments: misbehaviours)
    func misbehaving(_ fault: Misbehaviour) async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"1s\"\nmax_attempts = 6\nmax_inflight = 50")
        let ledger = FaultLedger("responder-\(fault.name)")
        try await cloud.responder.setBehaviour(fault.behaviour)
        ledger.injected()
        let submission = ledger.startSubmitting(
            faultIDs(FaultScale.requests(200), group: 0x0f20 + Self.misbehaviours.firstIndex { $0.name == fault.name }!),
            to: cloud.agent.socketPath)
        if let lasts = fault.lasts {
            try await Task.sleep(for: lasts)
            try await cloud.responder.setBehaviour(#"{"mode":"success"}"#)
        }
        try await submission.finish()
        let status = try await cloud.waitForStatus("everything acked", timeout: .seconds(90)) {
            $0.queued == 0 && $0.inFlight == 0
        }
        #expect(status.failed == 0, "\(cloud.agent.log().suffix(2000))")
        let counts = try ledger.verify(responder: cloud.responder, agent: cloud.agent)
        if ["late", "twice", "out-of-order"].contains(fault.name) {
            // Acks the agent no longer waits for are counted, not acted on.
            #expect(fault.name == "out-of-order" || status.unknownAcks > 0, "\(status)")
        } else {
            #expect(counts.redelivered > 0, "requests were sent again: \(counts)")
        }
    }

    @Test("error acks fail their requests (no retry by the agent); an operator retry sends them again and they are acked")
    func errorsThenRetry() async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"1s\"\nmax_inflight = 50")
        let ledger = FaultLedger("responder-errors")
        let ids = faultIDs(FaultScale.requests(200), group: 0x0f2f)
        let failing = stride(from: 0, to: ids.count, by: 7).map { ids[$0] }
        let list = failing.map { "\"\($0)\"" }.joined(separator: ",")
        try await cloud.responder.setBehaviour(#"{"mode":"error","error":"invalid-key","identities":["# + list + "]}")
        ledger.injected(failing.count)
        try await ledger.startSubmitting(ids, to: cloud.agent.socketPath).finish()
        let status = try await cloud.waitForStatus("every request answered", timeout: .seconds(60)) {
            $0.queued == 0 && $0.inFlight == 0
        }
        #expect(status.failed == failing.count)
        let rows = try StoreRows(stateDir: cloud.agent.stateDir)
        #expect(rows.states.values.filter { $0 == "failed" }.count == failing.count)
        #expect(try cloud.responder.state().requestCounts.values.allSatisfy { $0 == 1 }, "an error ack is final")

        try await cloud.responder.setBehaviour(#"{"mode":"success"}"#)
        for id in failing {
            let responses = try cloud.submit(.retry, ControlArguments(id: id))
            #expect(responses.first?.event == .accepted, "\(responses)")
        }
        _ = try await cloud.waitForStatus("retries acked", timeout: .seconds(60)) {
            $0.queued == 0 && $0.inFlight == 0 && $0.failed == 0
        }
        let counts = try ledger.verify(responder: cloud.responder, agent: cloud.agent)
        #expect(counts.redelivered == failing.count)
    }
}
