import AgentConfig
import Logging

/// Picks the broker target for the configured transport and credential source.
enum BrokerTargets {
    static func source(for configuration: AgentConfiguration, inbox: EngineInbox, logger: Logger) throws -> any BrokerTargetSource {
        switch configuration.broker.transport {
        case .mqttTLS:
            return MQTTTLSTarget(broker: configuration.broker)
        case .awsWebSocket:
            throw ControlSocketError(description: "broker.transport = \"aws-websocket\" is not available in this build yet")
        }
    }
}
