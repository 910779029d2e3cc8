import FoundationEssentials

/// Any JSON value, so that responses can be checked field by field with errors that name the field.
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// The JSON document in `bytes`, or nil when it is not JSON.
    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// "a string", "an object", … for messages that say what was found instead.
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value of `key` when this is an object.
    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    /// The text when this is a string.
    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}

/// A field of a response that is missing, of the wrong type or unusable.
struct FieldProblem: Error {
    /// The field's path, e.g. `data.credentials.expiration`.
    let field: String
    /// What is wrong with it, e.g. "is missing", "is a number, not a string".
    let problem: String
    /// True when `problem` already says what to do.
    var saysWhatToDo = false
}

/// Reads required fields of a JSON response, naming the field at fault and never quoting a value.
struct JSONFields {
    let value: JSONValue
    let path: String

    /// The object at `key`, itself read strictly.
    func object(_ key: String) throws(FieldProblem) -> JSONFields {
        let child = try required(key)
        guard case .object = child else { throw wrongType(key, child, expected: "an object") }
        return JSONFields(value: child, path: name(key))
    }

    /// The non-empty string at `key`.
    func string(_ key: String) throws(FieldProblem) -> String {
        let child = try required(key)
        guard case .string(let text) = child else { throw wrongType(key, child, expected: "a string") }
        guard !text.isEmpty else { throw FieldProblem(field: name(key), problem: "is an empty string") }
        return text
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func required(_ key: String) throws(FieldProblem) -> JSONValue {
        guard let child = value[key] else { throw FieldProblem(field: name(key), problem: "is missing") }
        return child
    }

    private func wrongType(_ key: String, _ child: JSONValue, expected: String) -> FieldProblem {
        FieldProblem(field: name(key), problem: "is \(child.kindName), not \(expected)")
    }
}
