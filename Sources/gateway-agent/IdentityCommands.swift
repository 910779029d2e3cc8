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

    /// The protocol arguments of a create, update or delete with these options.
    func arguments(id: String, publicKey: String? = nil, parent: String? = nil, cascade: Bool = false) -> ControlArguments {
        ControlArguments(
            id: id, publicKey: publicKey, parent: parent, target: target, context: context, ack: ack?.rawValue,
            cascade: cascade ? true : nil, wait: wait ? true : nil, timeoutMs: timeoutMs)
    }
}

extension AckMode: ExpressibleByArgument {}

/// Checks a `--id`/`--parent` value before anything is sent.
func checkUUID(_ text: String, option: String) throws {
    guard IdentityID(text) != nil else { throw ValidationError("\(option): '\(text)' is not a UUID") }
}

/// Checks `--id` and, when given, `--parent`.
func checkUUIDs(id: String, parent: String?) throws {
    try checkUUID(id, option: "--id")
    if let parent { try checkUUID(parent, option: "--parent") }
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

    func validate() throws { try checkUUIDs(id: id, parent: parent) }

    func run() throws {
        let args = request.arguments(id: id, publicKey: try readInput(publicKey, what: "--public-key"), parent: parent)
        try finish(client, .create, args)
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

    func validate() throws { try checkUUIDs(id: id, parent: parent) }

    func run() throws {
        let pem = try publicKey.map { try readInput($0, what: "--public-key") }
        try finish(client, .update, request.arguments(id: id, publicKey: pem, parent: parent))
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
        try finish(client, .delete, request.arguments(id: id, cascade: cascade))
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
        try finish(client, .retry, args)
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
        try finish(client, .dismiss, ControlArguments(id: id))
    }
}

/// Runs a request-changing command and exits with its code.
func finish(_ options: ClientOptions, _ verb: ControlVerb, _ args: ControlArguments) throws {
    let json = options.json
    var printed: [ControlResponse] = []
    let code = ControlSession(options: options).perform(ControlRequest(id: "cli", verb: verb, args: args)) { response in
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
