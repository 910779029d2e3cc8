extension ConfigBuilder {
    /// `[proxy]`: an HTTP CONNECT proxy; "" leaves it to `HTTPS_PROXY` / `NO_PROXY`.
    mutating func readProxySection() {
        var proxy = ProxySection()
        proxy.url = text(
            "proxy.url", expected: "an http:// or https:// proxy URL such as \"http://proxy.example:3128\", or \"\"",
            problem: { URLText.problem($0, schemes: ["http", "https"], credentialsKey: "proxy.credentials_file") })
        proxy.credentialsFile = secretFile("proxy.credentials_file", checkFiles: true)
        proxy.noProxy = text("proxy.no_proxy", expected: "a comma-separated list of host names or domains, or \"\"")
        configuration.proxy = proxy
    }
}
