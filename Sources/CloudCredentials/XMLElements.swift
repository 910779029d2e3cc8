/// Just enough XML to read AWS query-API responses (`<AssumeRoleResponse>`, `<ErrorResponse>`): the content of
/// a named element, and an element's text with the five predefined entities and character references decoded.
///
/// Deliberately small and strict: no DTDs, no CDATA, no comments inside the elements read, no nested element of
/// the same name. Anything else makes the lookup fail rather than guess.
struct XMLElements {
    let content: Substring

    init(_ text: String) { content = Substring(text) }

    init(content: Substring) { self.content = content }

    /// The first element named `name` (start tag `<name>` or `<name attributes…>`), up to its end tag.
    func element(_ name: String) -> XMLElements? {
        var rest = content
        while let open = rest.firstRange(of: "<\(name)") {
            let afterName = rest[open.upperBound...]
            guard let next = afterName.first else { return nil }
            if next == ">" || next == "/" || next == " " || next == "\t" || next == "\n" || next == "\r" {
                guard let tagEnd = afterName.firstIndex(of: ">") else { return nil }
                if afterName[..<tagEnd].hasSuffix("/") {
                    return XMLElements(content: afterName[tagEnd..<tagEnd])
                }
                let inner = afterName[afterName.index(after: tagEnd)...]
                guard let close = inner.firstRange(of: "</\(name)>") else { return nil }
                return XMLElements(content: inner[..<close.lowerBound])
            }
            rest = afterName
        }
        return nil
    }

    /// The text of the first element named `name`, entity-decoded; nil when absent or when it holds markup.
    func text(_ name: String) -> String? {
        element(name)?.text
    }

    /// This element's content as text, or nil when it holds markup or a malformed reference.
    var text: String? {
        guard !content.contains("<") else { return nil }
        var result = ""
        var rest = content
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            let reference = rest[rest.index(after: ampersand)...]
            guard let semicolon = reference.prefix(12).firstIndex(of: ";"),
                let scalar = Self.decode(reference[..<semicolon])
            else { return nil }
            result.unicodeScalars.append(scalar)
            rest = reference[reference.index(after: semicolon)...]
        }
        return (result + rest).trimmingXMLSpace()
    }

    static func decode(_ entity: Substring) -> Unicode.Scalar? {
        switch entity {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        default:
            guard entity.hasPrefix("#") else { return nil }
            let digits = entity.dropFirst()
            let value = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            return value.flatMap(Unicode.Scalar.init)
        }
    }
}

extension String {
    /// Without leading and trailing XML white space (space, tab, CR, LF).
    fileprivate func trimmingXMLSpace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
