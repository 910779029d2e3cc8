import CMosquitto

/// `mosquitto_lib_init` runs once per process, the first time any connection needs it.
enum MosquittoLibrary {
    // A static let is initialised exactly once, thread-safely, on first use.
    private static let initResult: Int32 = mosquitto_lib_init()

    /// Initialises libmosquitto (and OpenSSL through it) if that has not happened yet.
    static func initialise() throws(MQTTError) {
        try MosquittoResult.check(initResult, "mosquitto_lib_init")
    }
}
