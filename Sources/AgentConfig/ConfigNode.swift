import TOMLKit

/// A parsed TOML value that remembers which file set it, so that an error can name the drop-in at fault.
struct ConfigNode {
    enum Value {
        case table([String: ConfigNode])
        case string(String)
        case integer(Int)
        case float(Double)
        case boolean(Bool)
        /// Arrays, dates and times: no key of ours takes one; kept only to name the type in errors.
        case other(typeName: String)
    }

    var value: Value
    /// The file that set this value (for a table: the file that first defined it).
    let file: String

    /// An empty table, the root before any file is merged.
    static func emptyTable(file: String) -> ConfigNode {
        ConfigNode(value: .table([:]), file: file)
    }

    /// The type as an error message names it, with the value for scalars (never for tables or arrays).
    var described: String {
        switch value {
        case .table: return "a table"
        case .string(let text): return "a string (\(quoted(text)))"
        case .integer(let number): return "an integer (\(number))"
        case .float(let number): return "a floating-point number (\(number))"
        case .boolean(let flag): return "a boolean (\(flag))"
        case .other(let typeName): return typeName
        }
    }

    /// Lays `overlay` over `self`: tables merge key by key (recursively), anything else is replaced.
    mutating func merge(_ overlay: ConfigNode) {
        guard case .table(var entries) = value, case .table(let additions) = overlay.value else {
            self = overlay
            return
        }
        for (key, addition) in additions {
            if var existing = entries[key] {
                existing.merge(addition)
                entries[key] = existing
            } else {
                entries[key] = addition
            }
        }
        value = .table(entries)
    }
}

extension ConfigNode {
    /// Copies a parsed TOMLKit table into plain values, tagging each with `file`.
    init(_ table: TOMLTable, file: String) {
        var entries: [String: ConfigNode] = [:]
        for (key, element) in table {
            entries[key] = ConfigNode(element: element, file: file)
        }
        self.init(value: .table(entries), file: file)
    }

    private init(element: any TOMLValueConvertible, file: String) {
        switch element.type {
        case .table:
            if let table = element.table {
                self.init(table, file: file)
            } else {
                self.init(value: .other(typeName: "a table"), file: file)
            }
        case .string: self.init(value: .string(element.string ?? ""), file: file)
        case .int: self.init(value: .integer(element.int ?? 0), file: file)
        case .double: self.init(value: .float(element.double ?? 0), file: file)
        case .bool: self.init(value: .boolean(element.bool ?? false), file: file)
        case .array: self.init(value: .other(typeName: "an array"), file: file)
        case .date: self.init(value: .other(typeName: "a date"), file: file)
        case .time: self.init(value: .other(typeName: "a time"), file: file)
        case .dateTime: self.init(value: .other(typeName: "a date-time"), file: file)
        }
    }
}

/// `text` in double quotes, shortened so that a pasted blob cannot flood the terminal.
func quoted(_ text: String) -> String {
    let limit = 80
    let shown = text.count > limit ? text.prefix(limit) + "…" : Substring(text)
    var escaped = ""
    for character in shown {
        switch character {
        case "\"": escaped += "\\\""
        case "\\": escaped += "\\\\"
        case "\n": escaped += "\\n"
        case "\t": escaped += "\\t"
        default: escaped.append(character)
        }
    }
    return "\"\(escaped)\""
}
