import ControlProtocol
import FoundationEssentials
import Metrics

/// The metrics of one `status` snapshot: every value is the one `status --json` showed at that moment.
enum StatusMetrics {
    static func families(_ snapshot: Engine.StatusSnapshot) -> [MetricFamily] {
        let status = snapshot.status
        var families: [MetricFamily] = [
            MetricFamily(
                name: "gateway_agent_info", help: "Build and identity of this agent; the value is always 1.", kind: .gauge,
                samples: [
                    .init(
                        labels: [.init("version", status.version), .init("module_id", status.moduleId),
                                 .init("transport", status.transport), .init("credential_source", status.credentialSource)],
                        value: 1)
                ]),
            .single("gateway_agent_uptime_seconds", .gauge, "Seconds since the agent started.", status.uptimeSeconds),
            .single("gateway_agent_connected", .gauge, "1 while the MQTT connection is up, else 0.", status.connection == "connected" ? 1 : 0),
            MetricFamily(
                name: "gateway_agent_connection_state", help: "The connection state: 1 for the current one.", kind: .gauge,
                samples: ["connected", "connecting", "disconnected"].map {
                    .init(labels: [.init("state", $0)], value: status.connection == $0 ? 1 : 0)
                }),
            .single("gateway_agent_reconnects_total", .counter, "Connections made after the first, since the agent started.", Double(status.reconnects ?? 0)),
        ]
        if let expiry = snapshot.credentialsExpireAt {
            families.append(
                .single(
                    "gateway_agent_credentials_expiry_timestamp_seconds", .gauge,
                    "When the current AWS credentials expire, seconds since the Unix epoch.", expiry.timeIntervalSince1970))
        }
        families += [
            .single("gateway_agent_requests_queued", .gauge, "Requests accepted and not sent yet.", Double(status.queued)),
            .single("gateway_agent_requests_in_flight", .gauge, "Requests sent and waiting for their ack.", Double(status.inFlight)),
            .single("gateway_agent_queue_depth", .gauge, "Requests queued or in flight (what identity.max_queue bounds).", Double(status.queued + status.inFlight)),
            .single("gateway_agent_queue_limit", .gauge, "identity.max_queue.", Double(status.maxQueue ?? 0)),
            .single("gateway_agent_requests_failed", .gauge, "Failed requests not yet retried or dismissed.", Double(status.failed)),
            .single("gateway_agent_oldest_pending_seconds", .gauge, "Age of the oldest queued or in-flight request; 0 when none.", status.oldestPendingSeconds ?? 0),
        ]
        if let counters = status.counters {
            let totals: [(String, String, Int)] = [
                ("accepted", "Requests committed to the outbox, since the store was created.", counters.accepted),
                ("published", "Sends of requests (first sends and resends), since the store was created.", counters.published),
                ("retried", "Resends with the same correlation id, since the store was created.", counters.retried),
                ("acked", "Requests acknowledged, since the store was created.", counters.acked),
                ("failed", "Requests that failed for any reason, since the store was created.", counters.failed),
                ("rejected", "Requests failed by an error ack from the cloud, since the store was created.", counters.rejected),
                ("expired", "Requests failed as older than identity.max_request_age, since the store was created.", counters.expired),
                ("refused", "Commands refused because the outbox was full, since the agent started.", counters.refused),
            ]
            families += totals.map { .single("gateway_agent_requests_\($0.0)_total", .counter, $0.1, Double($0.2)) }
        }
        families.append(
            MetricFamily(
                name: "gateway_agent_acks_dropped_total", help: "Acks dropped since the agent started, by reason.", kind: .counter,
                samples: [
                    .init(labels: [.init("reason", "unknown")], value: Double(status.unknownAcks)),
                    .init(labels: [.init("reason", "malformed")], value: Double(status.malformedAcks)),
                ]))
        if let latency = status.ackLatency {
            families.append(
                .histogram(
                    "gateway_agent_ack_latency_seconds", "Time from a request's last send to its ack, since the agent started.",
                    bounds: latency.bounds, cumulativeCounts: latency.counts, count: latency.count, sum: latency.sumSeconds))
        }
        return families
    }
}
