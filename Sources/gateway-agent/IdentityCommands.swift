import ArgumentParser
import ControlProtocol
import GatewayCore

struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Create, update, delete and inspect device identities through the running agent.",
        subcommands: [
            CreateIdentity.self, UpdateIdentity.self, DeleteIdentity.self, GetIdentity.self, ListIdentities.self,
            RetryIdentity.self, DismissIdentity.self,
        ])
}

/// Options shared by create, update and delete.
struct RequestOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Device property `target` sent with the request.", valueName: "T"))
    var target: String?

    @Option(help: ArgumentHelp("Device property `context` sent with the request.", valueName: "C"))
    var context: String?

    @Option(help: ArgumentHelp("Ask the cloud for an ack (all) or finish at PUBACK (none). Default: identity.default_ack.", valueName: "all|none"))
    var ack: AckMode?

    @Flag(help: "Wait for the cloud's outcome; the exit code tells it (0 acked, 3 rejected, 4 no outcome).")
    var wait = false

    @Option(help: ArgumentHelp("How long --wait waits.", valueName: "duration"))
    var timeout: String = "30s"

    func validate() throws {
        guard let duration = DurationText.parse(timeout), duration > .zero else {
            throw ValidationError("--timeout: '\(timeout)' is not \(DurationText.expected)")
        }
    }

    var timeoutMs: Int? { wait ? DurationText.parse(timeout).map { Int($0.milliseconds) } : nil }
}

extension AckMode: ExpressibleByArgument {}

/// Checks a `--id`/`--parent` value before anything is sent.
func checkUUID(_ text: String, option: String) throws {
    guard IdentityID(text) != nil else { throw ValidationError("\(option): '\(text)' is not a UUID") }
}

/// Prints the answer to create/update/delete/retry/dismiss as lines for people.
func renderRequests(_ response: ControlResponse) {
    for request in response.result?.requests ?? [] {
        var line = "\(response.event == .outcome ? request.state : "accepted"): \(request.action) \(request.identity) correlationId=\(request.correlationId)"
        if response.event == .outcome { line += " attempts=\(request.attempts)" }
        if let error = request.lastError { line += " error=\(error)" }
        if let message = request.lastErrorMessage { line += " message=\"\(message)\"" }
        print(line)
    }
}

struct CreateIdentity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Register a device identity in the cloud.",
        discussion: """
            The request is stored by the agent before this command says "accepted"; it is sent until acked.
            Examples:
              gateway-agent identity create --id 6f1c2d3e-0000-4000-8000-000000000001 --public-key dev.pem
              gateway-agent identity create --id … --public-key - --parent … --wait --timeout 1m < dev.pem
            """)

    @OptionGroup var client: ClientOptions
    @Option(help: ArgumentHelp("The identity's UUID.", valueName: "uuid")) var id: String
    @Option(name: .customLong("public-key"), help: ArgumentHelp("PEM public key file, or - for standard input.", valueName: "file|-"))
    var publicKey: String
    @Option(help: ArgumentHelp("Parent identity (created by this gateway); default: the gateway itself.", valueName: "uuid"))
    var parent: String?
    @OptionGroup var request: RequestOptions

    func validate() throws {
        try checkUUID(id, option: "--id")
        if let parent { try checkUUID(parent, option: "--parent") }
    }

    func run() throws {
        let pem = try readInput(publicKey, what: "--public-key")
        let args = ControlArguments(
            id: id, publicKey: pem, parent: parent, target: request.target, context: request.context,
            ack: request.ack?.rawValue, wait: request.wait ? true : nil, timeoutMs: request.timeoutMs)
        try finish(ControlSession(options: client), ControlRequest(id: "cli", verb: .create, args: args), json: client.json)
    }
}

struct UpdateIdentity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Update a device identity (e.g. a new public key).",
        discussion: "Example:\n  gateway-agent identity update --id 6f1c… --public-key new.pem --wait")

    @OptionGroup var client: ClientOptions
    @Option(help: ArgumentHelp("The identity's UUID.", valueName: "uuid")) var id: String
    @Option(name: .customLong("public-key"), help: ArgumentHelp("New PEM public key file, or - for standard input.", valueName: "file|-"))
    var publicKey: String?
    @Option(help: ArgumentHelp("The identity's parent (must be the stored one).", valueName: "uuid"))
    var parent: String?
    @OptionGroup var request: RequestOptions

    func validate() throws {
        try checkUUID(id, option: "--id")
        if let parent { try checkUUID(parent, option: "--parent") }
    }

    func run() throws {
        let pem = try publicKey.map { try readInput($0, what: "--public-key") }
        let args = ControlArguments(
            id: id, publicKey: pem, parent: parent, target: request.target, context: request.context,
            ack: request.ack?.rawValue, wait: request.wait ? true : nil, timeoutMs: request.timeoutMs)
        try finish(ControlSession(options: client), ControlRequest(id: "cli", verb: .update, args: args), json: client.json)
    }
}

struct DeleteIdentity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a device identity from the cloud.",
        discussion: """
            An identity with children is refused unless --cascade is given; then its children are deleted
            first, deepest level first, each level acked before the next.
            Example:
              gateway-agent identity delete --id 6f1c… --cascade --wait
            """)

    @OptionGroup var client: ClientOptions
    @Option(help: ArgumentHelp("The identity's UUID.", valueName: "uuid")) var id: String
    @Flag(help: "Delete its children (and theirs) first.") var cascade = false
    @OptionGroup var request: RequestOptions

    func validate() throws { try checkUUID(id, option: "--id") }

    func run() throws {
        let args = ControlArguments(
            id: id, target: request.target, context: request.context, ack: request.ack?.rawValue,
            cascade: cascade ? true : nil, wait: request.wait ? true : nil, timeoutMs: request.timeoutMs)
        try finish(ControlSession(options: client), ControlRequest(id: "cli", verb: .delete, args: args), json: client.json)
    }
}

struct RetryIdentity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Send an identity's failed request again (same correlationId and timestamp).",
        discussion: "Example:\n  gateway-agent identity retry --id 6f1c… --wait")

    @OptionGroup var client: ClientOptions
    @Option(help: ArgumentHelp("The identity's UUID.", valueName: "uuid")) var id: String
    @Flag(help: "Wait for the cloud's outcome.") var wait = false
    @Option(help: ArgumentHelp("How long --wait waits.", valueName: "duration")) var timeout: String = "30s"

    func validate() throws {
        try checkUUID(id, option: "--id")
        guard DurationText.parse(timeout) != nil else { throw ValidationError("--timeout: '\(timeout)' is not \(DurationText.expected)") }
    }

    func run() throws {
        let args = ControlArguments(
            id: id, wait: wait ? true : nil, timeoutMs: wait ? DurationText.parse(timeout).map { Int($0.milliseconds) } : nil)
        try finish(ControlSession(options: client), ControlRequest(id: "cli", verb: .retry, args: args), json: client.json)
    }
}

struct DismissIdentity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dismiss", abstract: "End an identity's failed request without sending it again.",
        discussion: "Example:\n  gateway-agent identity dismiss --id 6f1c…")

    @OptionGroup var client: ClientOptions
    @Option(help: ArgumentHelp("The identity's UUID.", valueName: "uuid")) var id: String

    func validate() throws { try checkUUID(id, option: "--id") }

    func run() throws {
        try finish(
            ControlSession(options: client), ControlRequest(id: "cli", verb: .dismiss, args: ControlArguments(id: id)),
            json: client.json)
    }
}

/// Runs a request-changing command and exits with its code.
func finish(_ session: ControlSession, _ request: ControlRequest, json: Bool) throws {
    var printed: [ControlResponse] = []
    let code = session.perform(request) { response in
        if json { printed.append(response) } else { renderRequests(response) }
    }
    if json, !printed.isEmpty {
        struct Output: Encodable {
            var accepted: [RequestView]
            var outcome: RequestView?
        }
        let accepted = printed.first(where: { $0.event == .accepted })?.result?.requests ?? []
        let outcome = printed.first(where: { $0.event == .outcome })?.result?.requests?.first
        printJSON(Output(accepted: accepted, outcome: outcome))
    }
    if code != 0 { throw ExitCode(code) }
}
