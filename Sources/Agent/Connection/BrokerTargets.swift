import AgentConfig
import AgentLogging
import CloudCredentials
import Logging

/// Picks the broker target for the configured transport and credential source.
enum BrokerTargets {
    /// `failures` is the connection's log of repeated failures, which the aws-websocket tunnel reports to as well.
    static func source(
        for configuration: AgentConfiguration, refresher: CredentialRefresher?, logger: Logger,
        failures: RepeatedFailureLog
    ) -> any BrokerTargetSource {
        switch configuration.broker.transport {
        case .mqttTLS:
            return MQTTTLSTarget(configured: configuration.broker, refresher: refresher)
        case .awsWebSocket:
            // The configuration check refuses aws-websocket without a credential source.
            return AWSWebSocketTarget(configuration: configuration, refresher: refresher!, logger: logger, failures: failures)
        }
    }
}
