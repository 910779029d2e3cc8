extension ConfigBuilder {
    /// `[credentials]` and its per-source tables. Only the chosen source's files are checked on disk,
    /// so a fleet-wide base file may describe a source a drop-in switches away from.
    mutating func readCredentialsSection() {
        var credentials = CredentialsSection()
        let source = reader.choice("credentials.source", as: CredentialSource.self)?.value
        let sourceIsValid = !reader.isInvalid("credentials.source")
        credentials.source = source ?? credentials.source
        func inUse(_ candidate: CredentialSource) -> Bool { sourceIsValid && credentials.source == candidate }

        let organization = "credentials.organization"
        var org = OrganizationSettings()
        org.baseURL = text(
            "\(organization).base_url", expected: "an https:// URL such as \"https://api.example.com/v1\"",
            problem: { URLText.problem($0, schemes: ["https"]) })
        org.organizationID = text("\(organization).organization_id", expected: "the organization's id")
        org.tokenFile = secretFile("\(organization).token_file", checkFiles: inUse(.organization))
        org.caFile = publicFile("\(organization).ca_file", checkFiles: inUse(.organization))
        org.refreshBefore = duration("\(organization).refresh_before", default: org.refreshBefore)
        org.requestTimeout = duration("\(organization).request_timeout", default: org.requestTimeout)
        credentials.organization = org

        let assumeRole = "credentials.assume_role"
        var role = AssumeRoleSettings()
        role.roleARN = text(
            "\(assumeRole).role_arn", expected: "an IAM role ARN such as \"arn:aws:iam::123456789012:role/gateway\"",
            problem: roleARNProblem)
        role.externalID = text(
            "\(assumeRole).external_id", expected: "2 to 1224 characters of A-Z a-z 0-9 + = , . @ : / -",
            problem: { awsTextProblem($0, length: 2...1224, extra: "+=,.@:/-") })
        role.sessionName = text(
            "\(assumeRole).session_name", default: role.sessionName,
            expected: "2 to 64 characters of A-Z a-z 0-9 + = , . @ -",
            problem: { awsTextProblem($0, length: 2...64, extra: "+=,.@-") })
        // STS accepts 15 minutes to 12 hours (the role's own maximum may be lower).
        role.duration = duration(
            "\(assumeRole).duration", default: role.duration, minimum: .seconds(900), maximum: .seconds(43200))
        role.region = text("\(assumeRole).region", expected: regionExpected, problem: regionProblem)
        role.stsEndpoint = text(
            "\(assumeRole).sts_endpoint", expected: "an https:// URL such as \"https://sts.eu-west-1.amazonaws.com\", or \"\"",
            problem: { URLText.problem($0, schemes: ["https"]) })
        role.accessKeyIDFile = secretFile("\(assumeRole).access_key_id_file", checkFiles: inUse(.assumeRole))
        role.secretAccessKeyFile = secretFile("\(assumeRole).secret_access_key_file", checkFiles: inUse(.assumeRole))
        role.sessionTokenFile = secretFile("\(assumeRole).session_token_file", checkFiles: inUse(.assumeRole))
        credentials.assumeRole = role

        let staticKeys = "credentials.static"
        var keys = StaticKeySettings()
        keys.accessKeyIDFile = secretFile("\(staticKeys).access_key_id_file", checkFiles: inUse(.static))
        keys.secretAccessKeyFile = secretFile("\(staticKeys).secret_access_key_file", checkFiles: inUse(.static))
        keys.sessionTokenFile = secretFile("\(staticKeys).session_token_file", checkFiles: inUse(.static))
        keys.region = text("\(staticKeys).region", expected: regionExpected, problem: regionProblem)
        credentials.staticKeys = keys

        configuration.credentials = credentials
    }
}

let regionExpected = "an AWS region such as \"eu-west-1\""

/// AWS region names: lower-case letters and digits in `-`-separated parts, e.g. `us-gov-west-1`.
func regionProblem(_ region: String) -> String? {
    let parts = region.split(separator: "-", omittingEmptySubsequences: false)
    let valid = parts.count >= 2 && region.utf8.count <= 32
        && parts.allSatisfy { part in
            !part.isEmpty && part.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        }
    return valid ? nil : "got \(quoted(region))"
}

private func roleARNProblem(_ arn: String) -> String? {
    let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
    let valid = parts.count == 6 && parts[0] == "arn" && parts[1].hasPrefix("aws") && parts[2] == "iam"
        && parts[4].count == 12 && parts[4].allSatisfy(\.isASCII) && parts[4].allSatisfy(\.isNumber)
        && parts[5].hasPrefix("role/") && parts[5].count > 5
    return valid ? nil : "got \(quoted(arn))"
}

/// STS's `[\w+=,.@-]`-style parameters: letters, digits and the `extra` punctuation, with a length range.
private func awsTextProblem(_ text: String, length: ClosedRange<Int>, extra: String) -> String? {
    let valid = length.contains(text.count)
        && text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
                || extra.unicodeScalars.contains($0)
        }
    return valid ? nil : "got \(quoted(text))"
}
