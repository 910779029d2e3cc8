// swift-tools-version:6.0
import PackageDescription

// Upcoming features the compiler can check for us (see STYLE.md, principle 10).
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "gateway-agent",
    products: [
        .executable(name: "gateway-agent", targets: ["gateway-agent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // C libraries: each wrapped once, by the Swift module named beside it.
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),  // MQTTClient
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),  // CryptoSupport
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),  // HTTPClient
        // Linux calls that need _GNU_SOURCE (SO_PEERCRED, accept4, POLLRDHUP).
        .target(name: "CLinuxShims"),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),  // IdentityStore

        // Domain: identities, requests, topics, acks. Imports nothing of ours.
        .target(name: "GatewayCore", swiftSettings: strict),
        // OpenSSL behind a small Swift API: public-key checks, SHA-256/HMAC, TLS client streams.
        .target(name: "CryptoSupport", dependencies: ["COpenSSL", "GatewayCore"], swiftSettings: strict),
        // TOML files -> validated configuration.
        .target(
            name: "AgentConfig",
            dependencies: ["GatewayCore", .product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: strict),
        // SQLite store: identities + outbox.
        .target(name: "IdentityStore", dependencies: ["GatewayCore", "CSQLite"], swiftSettings: strict),
        // The libmosquitto connection.
        .target(name: "MQTTClient", dependencies: ["CMosquitto"], swiftSettings: strict),
        // HTTPS requests through libcurl.
        .target(name: "HTTPClient", dependencies: ["CCurl"], swiftSettings: strict),
        // Organization endpoint, assume-role, static credentials; SigV4.
        .target(
            name: "CloudCredentials",
            dependencies: [
                "GatewayCore", "CryptoSupport", "HTTPClient", "AgentLogging", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // TLS + RFC 6455 client for the aws-websocket transport.
        .target(name: "WebSocketTunnel", dependencies: ["CryptoSupport"], swiftSettings: strict),
        // Control-socket wire types and framing, shared by agent and CLI.
        .target(name: "ControlProtocol", dependencies: ["GatewayCore"], swiftSettings: strict),
        // swift-log backend (text for journald, json).
        .target(
            name: "AgentLogging",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        // Prometheus text format, a tiny /metrics responder and the node_exporter textfile.
        .target(name: "Metrics", dependencies: ["CLinuxShims"], swiftSettings: strict),
        // sd_notify over $NOTIFY_SOCKET (one datagram; no libsystemd needed).
        .target(name: "SystemdNotify", swiftSettings: strict),
        // Composition: scheduler, ack matcher, connection manager, control server.
        .target(
            name: "Agent",
            dependencies: [
                "GatewayCore", "CryptoSupport", "AgentConfig", "IdentityStore", "MQTTClient",
                "CloudCredentials", "WebSocketTunnel", "ControlProtocol", "AgentLogging", "SystemdNotify", "CLinuxShims",
                "Metrics", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // `gateway-agent check`: configuration, clock, endpoints, certificates, proxy, store and the running agent.
        .target(
            name: "Diagnostics",
            dependencies: [
                "Agent", "AgentConfig", "CloudCredentials", "ControlProtocol", "CryptoSupport", "GatewayCore",
                "HTTPClient", "IdentityStore", "WebSocketTunnel",
            ],
            swiftSettings: strict),
        // The executable: argument-parser commands, nothing else.
        .executableTarget(
            name: "gateway-agent",
            dependencies: [
                "Agent", "AgentConfig", "ControlProtocol", "Diagnostics", "GatewayCore", "AgentLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        // Test fixtures that run as their own processes.
        .executableTarget(
            name: "identity-responder",
            dependencies: ["MQTTClient", "GatewayCore"],
            path: "Tests/Fixtures/IdentityResponder",
            swiftSettings: strict),
        .executableTarget(
            name: "store-writer",
            dependencies: ["IdentityStore", "GatewayCore"],
            path: "Tests/Fixtures/StoreWriter",
            swiftSettings: strict),

        // libFuzzer targets, fuzzed by fuzz/run (which builds them with -sanitize=fuzzer and FUZZING defined);
        // built plainly, each only says so.
        .target(name: "FuzzDriver", path: "fuzz/Driver"),
        .executableTarget(name: "fuzz-config", dependencies: ["FuzzDriver", "AgentConfig"], path: "fuzz/Targets/FuzzConfig"),
        .executableTarget(name: "fuzz-ack", dependencies: ["FuzzDriver", "GatewayCore"], path: "fuzz/Targets/FuzzAck"),
        .executableTarget(
            name: "fuzz-control-request", dependencies: ["FuzzDriver", "ControlProtocol"],
            path: "fuzz/Targets/FuzzControlRequest"),
        .executableTarget(
            name: "fuzz-organization-response", dependencies: ["FuzzDriver", "CloudCredentials", "HTTPClient"],
            path: "fuzz/Targets/FuzzOrganizationResponse"),
        .executableTarget(
            name: "fuzz-websocket-frames", dependencies: ["FuzzDriver", "WebSocketTunnel"],
            path: "fuzz/Targets/FuzzWebSocketFrames"),

        // Shared test helpers: temp dirs, test CA, real mosquitto, child processes.
        .target(name: "TestSupport", dependencies: ["GatewayCore"], path: "Tests/TestSupport", swiftSettings: strict),

        .testTarget(name: "GatewayCoreTests", dependencies: ["GatewayCore"], swiftSettings: strict),
        .testTarget(name: "CryptoSupportTests", dependencies: ["CryptoSupport", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "AgentConfigTests", dependencies: ["AgentConfig", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "IdentityStoreTests", dependencies: ["IdentityStore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MQTTClientTests", dependencies: ["MQTTClient", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "CloudCredentialsTests",
            dependencies: [
                "CloudCredentials", "TestSupport", "HTTPClient",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "SystemdNotifyTests", dependencies: ["SystemdNotify", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "AgentLoggingTests", dependencies: ["AgentLogging"], swiftSettings: strict),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "WebSocketTunnelTests", dependencies: ["WebSocketTunnel", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["TestSupport", "GatewayCore", "ControlProtocol", "CloudCredentials", "WebSocketTunnel"],
            swiftSettings: strict),
    ]
)
