import GatewayCore

/// One identity file read and checked, collecting every problem so that an operator can fix them all at once.
struct IdentityFileReading {
    /// Path of the file, as problems name it.
    let file: String
    /// The file's name inside the directory, which becomes the identity's origin.
    let fileName: String
    private(set) var problems: [ConfigProblem] = []

    init(file: String, fileName: String) {
        self.file = file
        self.fileName = fileName
    }

    /// The identity the file declares, or nil with `problems` saying why it is skipped.
    mutating func read(publicKeyCheck: (String) throws(ValidationError) -> Void) -> DeclaredIdentity? {
        let root: ConfigNode
        switch ConfigFile.parse(file, isMain: false) {
        case .success(let tree): root = tree
        case .failure(let problem):
            problems = [problem]
            return nil
        }
        var reader = ConfigReader(root: root, mainFile: file)
        let id = identityID("id", required: true, reader: &reader)
        let publicKey = publicKey(reader: &reader, check: publicKeyCheck)
        let parent = identityID("parent", required: false, reader: &reader)
        let target = property("target", reader: &reader)
        let context = property("context", reader: &reader)
        if let id, let parent, parent == id {
            reader.report("parent",
                "is the identity's own id, and an identity cannot be its own parent; "
                    + "name another identity, or leave parent out for a child of the gateway")
        }
        problems = reader.problems + unknownKeys(in: root)
        guard problems.isEmpty, let id, let publicKey else { return nil }
        return DeclaredIdentity(
            id: id, parent: parent, publicKey: publicKey, target: target, context: context, fileName: fileName)
    }

    // MARK: Keys

    private func identityID(_ key: String, required: Bool, reader: inout ConfigReader) -> IdentityID? {
        let expected = "a UUID such as \"5f0c8a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6\""
        guard let setting = reader.string(key, expected: expected, required: required) else { return nil }
        guard let id = IdentityID(setting.value) else {
            reader.reject(setting, expected: expected, got: quoted(setting.value))
            return nil
        }
        return id
    }

    /// The PEM text from `public_key_file` or `public_key`, exactly one of which must be set, accepted by `check`.
    private func publicKey(
        reader: inout ConfigReader, check: (String) throws(ValidationError) -> Void
    ) -> String? {
        let fromFile = reader.string("public_key_file", expected: "the path of a PEM public key file")
        let inline = reader.string("public_key", expected: "a PEM public key (-----BEGIN PUBLIC KEY----- …)")
        if reader.isInvalid("public_key_file") || reader.isInvalid("public_key") { return nil }
        switch (fromFile, inline) {
        case (.some, .some):
            reader.report("public_key",
                "is set together with public_key_file; keep exactly one of the two (the file or the inline PEM)")
            return nil
        case (nil, nil):
            reader.report("public_key_file",
                "required key is missing; set public_key_file (a PEM file, relative to this directory) "
                    + "or public_key (the PEM text inline)")
            return nil
        case (let setting?, nil):
            guard let path = keyFilePath(setting, reader: &reader),
                let pem = readKeyFile(path, setting: setting, reader: &reader)
            else { return nil }
            return accepted(pem, setting: setting, source: "the public key in \(path)", reader: &reader, check: check)
        case (nil, let setting?):
            return accepted(setting.value, setting: setting, source: "the public key", reader: &reader, check: check)
        }
    }

    private func keyFilePath(_ setting: Setting<String>, reader: inout ConfigReader) -> String? {
        if setting.value.isEmpty {
            reader.reject(setting, expected: "the path of a PEM public key file", got: "an empty string")
            return nil
        }
        if let problem = ConfigPaths.pathTextProblem(setting.value) {
            reader.report(setting.key, file: setting.file, problem)
            return nil
        }
        let value = setting.value
        return ConfigPaths.normalize(value.hasPrefix("/") ? value : ConfigPaths.directory(of: file) + "/" + value)
    }

    /// The file's text; a public key is no secret, so any readable regular file will do.
    private func readKeyFile(_ path: String, setting: Setting<String>, reader: inout ConfigReader) -> String? {
        let bytes: [UInt8]
        do {
            bytes = try FileAccess.read(path, limit: IdentityFiles.publicKeyFileSizeLimit)
        } catch {
            let message: String
            switch error {
            case .system(let error) where error.isMissing:
                message = "public key file \(path) does not exist; write the PEM public key there or fix the path"
            case .system(let error):
                message = "cannot read public key file \(path): \(error.reason); "
                    + "the agent's user must be able to read it"
            case .refused(let reason):
                message = "public key file \(path) \(reason)"
            }
            reader.report(setting.key, file: setting.file, message)
            return nil
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            reader.report(setting.key, file: setting.file,
                "public key file \(path) is not UTF-8 text; expected a PEM public key")
            return nil
        }
        return text
    }

    private func accepted(
        _ pem: String, setting: Setting<String>, source: String, reader: inout ConfigReader,
        check: (String) throws(ValidationError) -> Void
    ) -> String? {
        do {
            try check(pem)
            return pem
        } catch {
            reader.report(setting.key, file: setting.file, "\(source) is refused: \(error.rule)")
            return nil
        }
    }

    /// `target` or `context`: optional text, held to the same rules as the CLI's.
    private func property(_ key: String, reader: inout ConfigReader) -> String? {
        guard let setting = reader.string(key, expected: "text for the \(key) property") else { return nil }
        do {
            try RequestValidator.checkProperty(key, setting.value)
            return setting.value
        } catch {
            reader.report(key, file: setting.file, error.rule)
            return nil
        }
    }

    // MARK: Unknown keys

    /// Every key of the file that is not one of `IdentityFiles.keys` (ConfigReader's own report speaks of
    /// sections, which an identity file does not have).
    private func unknownKeys(in root: ConfigNode) -> [ConfigProblem] {
        guard case .table(let entries) = root.value else { return [] }
        let known = IdentityFiles.keys
        let expected = "expected one of the keys: " + known.joined(separator: ", ")
        return entries.keys.sorted().filter { !known.contains($0) }.map { name in
            var message = "unknown key"
            if case .table = entries[name]?.value {
                message = "unknown table [\(name)]; an identity file has no tables"
            }
            let normalized = String(name.lowercased().map { $0 == "-" ? "_" : $0 })
            let suggestion = known.first { $0 == normalized }
                ?? known.min { editDistance($0, name) < editDistance($1, name) }.flatMap {
                    editDistance($0, name) <= 2 ? $0 : nil
                }
            if let suggestion { message += " (did you mean \(suggestion)?)" }
            return ConfigProblem(file: file, key: displayed(name), message: message + "; " + expected)
        }
    }

    /// Bare TOML keys as they are, anything else quoted.
    private func displayed(_ name: String) -> String {
        let bare = !name.isEmpty && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        return bare ? name : quoted(name)
    }
}
