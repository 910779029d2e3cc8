/// AWS IoT Core limits the agent checks before a request is stored.
public enum WireLimits {
    public static let maxTopicBytes = 256
    public static let maxTopicSlashes = 7
    public static let maxPayloadBytes = 128 * 1024
    public static let maxClientIDBytes = 128
    /// Acks larger than this are dropped as malformed.
    public static let maxAckBytes = 64 * 1024
    /// Property values (`target`, `context`) longer than this can never fit a topic.
    public static let maxPropertyBytes = 128
}
