/// Checks a request before it is stored: every rejection names the field and the rule.
///
/// The public-key check is passed in (OpenSSL lives in `CryptoSupport`, which this module does not import).
public struct RequestValidator: Sendable {
    public let moduleID: ModuleID
    /// Throws a `ValidationError` for a key OpenSSL cannot parse or does not accept.
    public let checkPublicKey: @Sendable (String) throws(ValidationError) -> Void

    public init(moduleID: ModuleID, checkPublicKey: @escaping @Sendable (String) throws(ValidationError) -> Void) {
        self.moduleID = moduleID
        self.checkPublicKey = checkPublicKey
    }

    /// Validates `request` as accepted from a caller; throws the first rule it breaks.
    public func validate(_ request: IdentityRequest) throws(ValidationError) {
        if let parent = request.parent, parent == request.identity {
            throw ValidationError(field: "parent", rule: "an identity cannot be its own parent")
        }
        switch request.action {
        case .create:
            guard let key = request.publicKey else {
                throw ValidationError(field: "publicKey", rule: "is required to create an identity")
            }
            try checkPublicKey(key)
        case .update:
            if let key = request.publicKey { try checkPublicKey(key) }
        case .delete:
            guard request.publicKey == nil else {
                throw ValidationError(field: "publicKey", rule: "must not be given for delete")
            }
        }
        try Self.checkProperty("target", request.target)
        try Self.checkProperty("context", request.context)

        // The timestamp is set on first send; its length is fixed, so measure with a stand-in.
        let message = RequestMessage(request: request, moduleID: moduleID, timestamp: "2000-01-01T00:00:00.000Z")
        let topicBytes = message.topic.utf8.count
        guard topicBytes <= WireLimits.maxTopicBytes else {
            throw ValidationError(
                field: "topic",
                rule: "would be \(topicBytes) bytes, AWS IoT allows \(WireLimits.maxTopicBytes): shorten target or context")
        }
        let slashes = message.topic.utf8.count(where: { $0 == UInt8(ascii: "/") })
        guard slashes <= WireLimits.maxTopicSlashes else {
            throw ValidationError(field: "topic", rule: "would have \(slashes) slashes, AWS IoT allows \(WireLimits.maxTopicSlashes)")
        }
        guard message.payload.count <= WireLimits.maxPayloadBytes else {
            throw ValidationError(
                field: "publicKey",
                rule: "payload would be \(message.payload.count) bytes, AWS IoT allows \(WireLimits.maxPayloadBytes)")
        }
    }

    /// `target` and `context`: non-empty text without control characters, at most `maxPropertyBytes`.
    public static func checkProperty(_ field: String, _ value: String?) throws(ValidationError) {
        guard let value else { return }
        guard !value.isEmpty else { throw ValidationError(field: field, rule: "must not be empty when given") }
        guard value.utf8.count <= WireLimits.maxPropertyBytes else {
            throw ValidationError(field: field, rule: "must be at most \(WireLimits.maxPropertyBytes) bytes")
        }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ValidationError(field: field, rule: "must not contain control characters")
        }
    }
}
