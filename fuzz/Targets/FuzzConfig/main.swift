// libFuzzer target: a TOML configuration file, loaded and checked as `gateway-agent check-config` does.
import AgentConfig
import FuzzDriver
import Glibc

/// A private directory holding the one file each input is written to (no drop-in directory beside it).
nonisolated(unsafe) let configPath: String = {
    var template = Array("/tmp/gateway-agent-fuzz-config.XXXXXX".utf8CString)
    guard let directory = mkdtemp(&template) else { fatalError("mkdtemp failed: errno \(errno)") }
    return String(cString: directory) + "/gateway-agent.toml"
}()

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let file = fopen(configPath, "w") else { fatalError("cannot write \(configPath): errno \(errno)") }
    if size > 0 { precondition(fwrite(data, 1, size, file) == size, "short write to \(configPath)") }
    fclose(file)
    let report = ConfigLoader.check(path: configPath, environment: [:])
    _ = report.text
    return 0
}

atexit {
    unlink(configPath)
    rmdir(String(configPath.dropLast("/gateway-agent.toml".count)))
}
exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzConfig))
