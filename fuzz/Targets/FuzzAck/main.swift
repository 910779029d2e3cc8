// libFuzzer target: an ack as the engine receives it from MQTT: topic, payload and MQTT 5 correlation data.
// Input layout: topic NUL payload [NUL correlation-data]; without a NUL the whole input is the payload.
import FuzzDriver
import GatewayCore
import Glibc

nonisolated(unsafe) let parser = AckParser(moduleID: try! ModuleID("gw-1"))

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzAck(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let parts = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
    let topic: String
    let payload: [UInt8]
    var correlationData: [UInt8]?
    if parts.count == 1 {
        topic = "to/module/gw-1/ack/identity/create"
        payload = bytes
    } else {
        topic = String(decoding: parts[0], as: UTF8.self)
        payload = Array(parts[1])
        correlationData = parts.count > 2 ? Array(parts[2]) : nil
    }
    switch parser.parse(topic: topic, payload: payload, correlationData: correlationData) {
    case .success(let ack): precondition(!ack.correlationID.isEmpty, "an ack with an empty correlation id")
    case .failure(let malformed): _ = malformed.description
    }
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzAck))
