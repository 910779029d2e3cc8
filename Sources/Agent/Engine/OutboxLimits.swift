import ControlProtocol
import FoundationEssentials
import GatewayCore

/// `identity.max_queue` and `identity.max_request_age`, as the engine applies them.
///
/// The queue is every request still to be sent or acknowledged (queued + in flight), from the control
/// socket and identities.d alike. A command that would take it over the limit is refused whole before
/// anything is stored; nothing accepted is ever dropped to make room.
struct OutboxLimits {
    var maxQueue: Int
    /// nil = no limit.
    var maxRequestAge: Duration?

    /// The refusal of a command needing `needed` more places when `pending` are taken, or nil when it fits.
    func refusal(pending: Int, needed: Int) -> OutboxFull? {
        pending + needed <= maxQueue ? nil : OutboxFull(pending: pending, needed: needed, limit: maxQueue)
    }

    /// Requests accepted before this instant are over the age limit.
    func ageCutoff(now: Date) -> Date? {
        maxRequestAge.map { now.addingTimeInterval(-$0.secondsDouble) }
    }

    /// The `lastErrorMessage` of an expired request.
    var expiryMessage: String {
        "not acknowledged within identity.max_request_age (\(maxRequestAge.map(DurationText.format) ?? "none")) of its acceptance"
    }
}

/// A command refused because the outbox is full.
struct OutboxFull: Error {
    var pending: Int
    var needed: Int
    var limit: Int

    var controlError: ControlError {
        let need = needed > 1 ? " (this command needs \(needed) places)" : ""
        return ControlError(
            .refused,
            "outbox full: \(pending) requests are queued or in flight, identity.max_queue is \(limit)\(need); "
                + "nothing was stored: try again once the agent has sent some (see `gateway-agent status`)")
    }
}
