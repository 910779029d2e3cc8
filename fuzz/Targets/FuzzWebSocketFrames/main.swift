// libFuzzer target: the server's side of a WebSocket tunnel, read frame by frame as the relay reads it.
// The first byte sets how many bytes arrive per read, so frames split across reads are covered too.
import FuzzDriver
import Glibc
import WebSocketTunnel

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzWebSocketFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunk = Int(data![0]) + 1
    let stream = Array(UnsafeBufferPointer(start: data! + 1, count: size - 1))
    var reader = WebSocketFrameReader(maxMessageBytes: 4096)
    var offset = 0
    repeat {
        let end = min(offset + chunk, stream.count)
        reader.append(Array(stream[offset..<end]))
        offset = end
        do {
            while let event = try reader.next() {
                if case .close = event { return 0 }
            }
        } catch {
            precondition([1002, 1003, 1009].contains(error.code), "unexpected close code \(error.code)")
            return 0
        }
    } while offset < stream.count
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzWebSocketFrames))
