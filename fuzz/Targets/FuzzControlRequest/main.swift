// libFuzzer target: one control-socket line, decoded as the agent's control connection does
// (and, on failure, its request id read for the error answer), and as the CLI decodes an answer.
import ControlProtocol
import FuzzDriver
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzControlRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let line = Array(UnsafeBufferPointer(start: data, count: size))
    switch ControlCoding.decodeRequest(line) {
    case .success(let request):
        // What was accepted must survive the agent's own encoding unchanged.
        let again = ControlCoding.decodeRequest(ControlCoding.encodeLine(request))
        precondition(again == .success(request), "a decoded request does not round-trip")
    case .failure(let error):
        _ = ControlCoding.requestID(of: line)
        _ = ControlCoding.encodeLine(ControlResponse.failure(id: "", error))
    }
    _ = try? ControlCoding.decodeResponse(line)
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzControlRequest))
