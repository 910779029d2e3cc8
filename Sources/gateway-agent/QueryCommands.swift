import ArgumentParser
import ControlProtocol
import GatewayCore

struct GetIdentity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Show one identity and its requests.",
        discussion: "Example:\n  gateway-agent identity get --id 6f1c… --json")

    @OptionGroup var client: ClientOptions
    @Option(help: ArgumentHelp("The identity's UUID.", valueName: "uuid")) var id: String

    func validate() throws { try checkUUID(id, option: "--id") }

    func run() throws {
        let code = ControlSession(options: client).perform(ControlRequest(id: "cli", verb: .get, args: ControlArguments(id: id))) {
            guard let identity = $0.result?.identity else { return }
            if client.json { return printJSON(identity) }
            print("id:          \(identity.id)")
            print("parent:      \(identity.parent ?? "(gateway)")")
            print("cloud state: \(identity.cloudState)")
            print("state:       \(identity.state ?? "-")")
            if let error = identity.lastError { print("last error:  \(error)") }
            if let origin = identity.origin { print("declared by: \(origin)") }
            print("updated:     \(identity.updatedAt)")
            print("")
            printTable(
                ["CORRELATION ID", "ACTION", "STATE", "ATTEMPTS", "TIMESTAMP", "ERROR"],
                (identity.requests ?? []).map {
                    [$0.correlationId, $0.action, $0.state, "\($0.attempts)", $0.timestamp ?? "-", $0.lastError ?? ""]
                })
        }
        if code != 0 { throw ExitCode(code) }
    }
}

struct ListIdentities: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List identities with the state of their latest request.",
        discussion: """
            States: queued, in-flight, acked, failed, dismissed, or pending (= queued or in-flight).
            Examples:
              gateway-agent identity list --state failed
              gateway-agent identity list --parent 6f1c… --json
            """)

    @OptionGroup var client: ClientOptions
    @Option(help: ArgumentHelp("Only identities whose latest request is in this state.", valueName: "state"))
    var state: String?
    @Option(help: ArgumentHelp("Only children of this identity.", valueName: "uuid")) var parent: String?

    func validate() throws {
        if let parent { try checkUUID(parent, option: "--parent") }
        if let state, state != "pending", RequestState(rawValue: state) == nil {
            throw ValidationError("--state: '\(state)' is not one of pending, queued, in-flight, acked, failed, dismissed")
        }
    }

    func run() throws {
        let request = ControlRequest(id: "cli", verb: .list, args: ControlArguments(parent: parent, state: state))
        let code = ControlSession(options: client).perform(request) {
            let identities = $0.result?.identities ?? []
            if client.json { return printJSON(identities) }
            printTable(
                ["ID", "PARENT", "STATE", "CLOUD", "LAST ERROR"],
                identities.map { [$0.id, $0.parent ?? "(gateway)", $0.state ?? "-", $0.cloudState, $0.lastError ?? ""] })
        }
        if code != 0 { throw ExitCode(code) }
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the connection, credentials and queue of the running agent.",
        discussion: "Examples:\n  gateway-agent status\n  gateway-agent status --json | jq .queued")

    @OptionGroup var client: ClientOptions

    func run() throws {
        let code = ControlSession(options: client).perform(ControlRequest(id: "cli", verb: .status)) {
            guard let status = $0.result?.status else { return }
            if client.json { return printJSON(status) }
            print("connection:   \(status.connection)\(status.endpoint.isEmpty ? "" : " (\(status.endpoint))")")
            print("transport:    \(status.transport)")
            print("credentials:  \(status.credentialSource)\(status.credentialsExpireAt.map { ", expire \($0)" } ?? "")")
            print("queued:       \(status.queued)")
            print("in flight:    \(status.inFlight)")
            print("failed:       \(status.failed)")
            print("oldest:       \(status.oldestPendingSeconds.map { "\(Int($0))s" } ?? "-")")
            print("last error:   \(status.lastError ?? "-")")
            print("acks dropped: \(status.unknownAcks) unknown, \(status.malformedAcks) malformed")
            if let limit = status.maxQueue {
                let age = status.maxRequestAgeSeconds.map { "requests expire \(DurationText.format(.seconds(Int64($0)))) after acceptance" }
                print("outbox:       \(status.queued + status.inFlight) of \(limit) places used; \(age ?? "requests never expire")")
            }
            if let reconnects = status.reconnects { print("reconnects:   \(reconnects)") }
            if let c = status.counters {
                print("totals:       accepted \(c.accepted), published \(c.published) (\(c.retried) resent), acked \(c.acked), "
                    + "failed \(c.failed) (\(c.rejected) rejected, \(c.expired) expired); \(c.refused) refused as full since start")
            }
            print("module:       \(status.moduleId)")
            print("version:      \(status.version), up \(Int(status.uptimeSeconds))s")
        }
        if code != 0 { throw ExitCode(code) }
    }
}
