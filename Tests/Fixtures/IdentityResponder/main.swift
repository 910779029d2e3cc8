import Foundation

// The cloud-side Identity v2 test responder; see IdentityResponder and ResponderBehaviour.
let arguments: ResponderArguments
do {
    arguments = try ResponderArguments(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("identity-responder: \(error)\n".utf8))
    exit(2)
}
let responder = IdentityResponder(stateFile: arguments.stateFile, rewritesState: !arguments.recordsOnly)
await responder.run(options: arguments.options)
