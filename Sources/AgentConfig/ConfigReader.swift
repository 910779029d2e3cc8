import GatewayCore

/// A value read from the configuration with where it came from.
struct Setting<Value> {
    let value: Value
    let key: String
    /// The file that set it (a drop-in when one overrode the main file).
    let file: String
}

/// Reads typed values out of the merged tree and collects every problem instead of stopping at the first.
///
/// Every key looked up is remembered, so that whatever the schema never asked for is reported as unknown.
struct ConfigReader {
    let mainFile: String
    private let root: ConfigNode
    private(set) var problems: [ConfigProblem] = []
    /// Key paths with a problem reported, so that cross-field checks don't pile on.
    private var invalid: Set<String> = []
    /// Every key path the schema looked up, in the order it did (for "expected one of" lists).
    private var known: [String] = []
    private var knownSet: Set<String> = []
    /// Paths that name sections (tables) rather than values.
    private var sections: Set<String> = []

    init(root: ConfigNode, mainFile: String) {
        self.root = root
        self.mainFile = mainFile
    }

    // MARK: Lookup

    /// The node at `key` without recording anything.
    func lookup(_ key: String) -> ConfigNode? {
        var current = root
        for part in key.split(separator: ".") {
            guard case .table(let entries) = current.value, let next = entries[String(part)] else { return nil }
            current = next
        }
        return current
    }

    /// Whether a file set `key` (to anything, even a wrong type).
    func isSet(_ key: String) -> Bool { lookup(key) != nil }

    /// Whether a problem was reported for `key` or for a section holding it.
    func isInvalid(_ key: String) -> Bool { invalid.contains(key) || isSectionInvalid(key) }

    /// The file that set `key`, or the main file when it holds its default.
    func file(of key: String) -> String { lookup(key)?.file ?? mainFile }

    /// The node at `key`, recording the key and its sections as known; reports a section that is not a table.
    mutating func node(_ key: String) -> ConfigNode? {
        let parts = key.split(separator: ".").map(String.init)
        var path = ""
        for (index, part) in parts.enumerated() {
            path = index == 0 ? part : "\(path).\(part)"
            if index < parts.count - 1 { sections.insert(path) }
            if knownSet.insert(path).inserted { known.append(path) }
        }
        var current = root
        path = ""
        for (index, part) in parts.enumerated() {
            guard case .table(let entries) = current.value else {
                if !invalid.contains(path) {
                    report(path, file: current.file, "wrong type: expected a table ([\(path)]), got \(current.described)")
                }
                return nil
            }
            guard let next = entries[part] else { return nil }
            path = index == 0 ? part : "\(path).\(part)"
            current = next
        }
        return current
    }

    // MARK: Problems

    /// Records a problem with `key`, in the file that set it unless `file` says otherwise.
    mutating func report(_ key: String, file: String? = nil, _ message: String) {
        invalid.insert(key)
        problems.append(ConfigProblem(file: file ?? self.file(of: key), key: key, message: message))
    }

    /// Records that `setting` holds a value outside what `expected` describes.
    mutating func reject<Value>(_ setting: Setting<Value>, expected: String, got: String) {
        report(setting.key, file: setting.file, "expected \(expected), got \(got)")
    }

    /// Records that a required key is absent.
    mutating func reportMissing(_ key: String, expected: String, requiredBecause reason: String? = nil) {
        let why = reason.map { " (required when \($0))" } ?? ""
        report(key, "required key is missing\(why); expected \(expected)")
    }

    private mutating func reportWrongType(_ key: String, _ node: ConfigNode, expected: String) {
        report(key, file: node.file, "wrong type: expected \(expected), got \(node.described)")
    }

    // MARK: Typed values

    /// A string; nil when absent or of another type (reported), or when `required` and absent (reported).
    mutating func string(_ key: String, expected: String, required: Bool = false) -> Setting<String>? {
        guard let node = node(key) else {
            if required && !isInvalid(key) { reportMissing(key, expected: expected) }
            return nil
        }
        guard case .string(let text) = node.value else {
            reportWrongType(key, node, expected: expected)
            return nil
        }
        return Setting(value: text, key: key, file: node.file)
    }

    /// An integer; nil when absent or of another type (reported).
    mutating func integer(_ key: String, expected: String) -> Setting<Int>? {
        guard let node = node(key) else { return nil }
        guard case .integer(let number) = node.value else {
            reportWrongType(key, node, expected: expected)
            return nil
        }
        return Setting(value: number, key: key, file: node.file)
    }

    /// A number written as an integer or a float; nil when absent or of another type (reported).
    mutating func number(_ key: String, expected: String) -> Setting<Double>? {
        guard let node = node(key) else { return nil }
        switch node.value {
        case .integer(let number): return Setting(value: Double(number), key: key, file: node.file)
        case .float(let number): return Setting(value: number, key: key, file: node.file)
        default:
            reportWrongType(key, node, expected: expected)
            return nil
        }
    }

    /// A boolean; nil when absent or of another type (reported).
    mutating func boolean(_ key: String) -> Setting<Bool>? {
        guard let node = node(key) else { return nil }
        guard case .boolean(let flag) = node.value else {
            reportWrongType(key, node, expected: "true or false")
            return nil
        }
        return Setting(value: flag, key: key, file: node.file)
    }

    /// A duration string such as `"30s"`; nil when absent or wrong (reported, with a hint for bare numbers).
    mutating func duration(_ key: String, expected: String) -> Setting<Duration>? {
        guard let node = node(key) else { return nil }
        switch node.value {
        case .string(let text):
            guard let duration = DurationText.parse(text) else {
                report(key, file: node.file, "expected \(expected), got \(quoted(text))")
                return nil
            }
            return Setting(value: duration, key: key, file: node.file)
        case .integer(let number):
            report(key, file: node.file,
                "wrong type: expected \(expected), got an integer (\(number)); durations are strings with a unit, e.g. \"\(number)s\"")
            return nil
        default:
            reportWrongType(key, node, expected: expected)
            return nil
        }
    }

    /// One of the raw values of `Choice`; nil when absent or not one of them (reported).
    mutating func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, as _: Choice.Type) -> Setting<Choice>?
    where Choice.RawValue == String {
        let expected = "one of " + Choice.allCases.map { quoted($0.rawValue) }.joined(separator: ", ")
        guard let setting = string(key, expected: expected) else { return nil }
        guard let choice = Choice(rawValue: setting.value) else {
            reject(setting, expected: expected, got: quoted(setting.value))
            return nil
        }
        return Setting(value: choice, key: key, file: setting.file)
    }

    private func isSectionInvalid(_ key: String) -> Bool {
        var path = ""
        for part in key.split(separator: ".").dropLast() {
            path = path.isEmpty ? String(part) : "\(path).\(part)"
            if invalid.contains(path) { return true }
        }
        return false
    }

    /// Every value key the schema looked up so far (not the sections), in lookup order.
    var knownKeys: [String] { known.filter { !sections.contains($0) } }

    // MARK: Unknown keys

    /// Reports every key in the files that the schema never looked up, with the keys that were expected there.
    mutating func reportUnknownKeys() {
        guard case .table(let entries) = root.value else { return }
        reportUnknown(in: entries, section: "")
    }

    private mutating func reportUnknown(in entries: [String: ConfigNode], section: String) {
        for name in entries.keys.sorted() {
            guard let node = entries[name] else { continue }
            let path = section.isEmpty ? displayKey(name) : "\(section).\(displayKey(name))"
            if knownSet.contains(path) {
                if sections.contains(path), case .table(let children) = node.value {
                    reportUnknown(in: children, section: path)
                }
                continue
            }
            report(path, file: node.file, unknownKeyMessage(name: name, node: node, section: section))
        }
    }

    private func unknownKeyMessage(name: String, node: ConfigNode, section: String) -> String {
        let siblings = known.filter { parent(of: $0) == section }.map { $0.split(separator: ".").last.map(String.init) ?? $0 }
        var message: String
        if case .table = node.value {
            message = section.isEmpty ? "unknown section [\(name)]" : "unknown table [\(section).\(name)]"
        } else {
            message = "unknown key"
        }
        if let suggestion = suggestion(for: name, section: section, siblings: siblings) {
            message += " (did you mean \(suggestion)?)"
        }
        let kind = section.isEmpty ? "sections" : "keys in [\(section)]"
        return message + "; expected one of the \(kind): " + siblings.joined(separator: ", ")
    }

    /// A close sibling (a typo, `-` for `_`), or the same key name in another section.
    private func suggestion(for name: String, section: String, siblings: [String]) -> String? {
        let normalized = String(name.lowercased().map { $0 == "-" ? "_" : $0 })
        if let close = siblings.first(where: { $0 == normalized })
            ?? siblings.min(by: { editDistance($0, name) < editDistance($1, name) }).flatMap({
                editDistance($0, name) <= 2 ? $0 : nil
            })
        {
            return section.isEmpty ? "[\(close)]" : "\(section).\(close)"
        }
        return known.first { !sections.contains($0) && $0.hasSuffix(".\(normalized)") }
    }

    private func parent(of path: String) -> String {
        guard let dot = path.lastIndex(of: ".") else { return "" }
        return String(path[..<dot])
    }

    /// Bare TOML keys as they are, anything else quoted (so `"a.b"` can't pass for a nested key).
    private func displayKey(_ name: String) -> String {
        let bare = !name.isEmpty && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        return bare ? name : quoted(name)
    }
}

/// Levenshtein distance, for "did you mean" suggestions on short key names.
func editDistance(_ left: String, _ right: String) -> Int {
    let a = Array(left), b = Array(right)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
