import ControlProtocol
import Foundation

// Measures a running agent through its control socket and prints the figures (scripts/bench runs it).
//   agent-bench --socket PATH --key-file PEM [--count N] [--clients C]

struct Options {
    var socket = ""
    var keyFile = ""
    var count = 2000
    var clients = 16

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            let value = iterator.next() ?? ""
            switch flag {
            case "--socket": socket = value
            case "--key-file": keyFile = value
            case "--count": count = Int(value) ?? count
            case "--clients": clients = Int(value) ?? clients
            default: fatalError("unknown option \(flag)")
            }
        }
    }
}

let options = Options(CommandLine.arguments)
let key = try String(contentsOfFile: options.keyFile, encoding: .utf8)

func submit(_ verb: ControlVerb, _ args: ControlArguments) throws -> [ControlResponse] {
    let client = try ControlClient(socketPath: options.socket)
    try client.send(ControlRequest(id: "bench", verb: verb, args: args))
    var responses: [ControlResponse] = []
    while true {
        let response = try client.receive()
        responses.append(response)
        if !response.ok || !(args.wait == true && response.event == .accepted) { return responses }
    }
}

func id(_ n: Int, group: Int) -> String { String(format: "be0c2d3e-%04x-4000-8000-%012x", group, n) }

func status() throws -> StatusView { try submit(.status, ControlArguments()).first!.result!.status! }

func waitUntilDrained() throws {
    while true {
        let s = try status()
        if s.queued == 0 && s.inFlight == 0 { return }
        usleep(20_000)
    }
}

func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }

// 1. Accepts, one client after the other: each answer comes after its own commit.
var start = ContinuousClock.now
for n in 0..<options.count {
    _ = try submit(.create, ControlArguments(id: id(n, group: 1), publicKey: key))
}
let serial = seconds(ContinuousClock.now - start)
print(String(format: "accept, 1 client:        %6.0f requests/s  (%d creates in %.2f s)", Double(options.count) / serial, options.count, serial))
try waitUntilDrained()

// 2. Accepts from many clients at once: group commit puts many requests in one transaction.
start = ContinuousClock.now
let group = DispatchGroup()
let perClient = options.count / options.clients
for client in 0..<options.clients {
    group.enter()
    Thread.detachNewThread {
        for n in 0..<perClient { _ = try? submit(.create, ControlArguments(id: id(n, group: 100 + client), publicKey: key)) }
        group.leave()
    }
}
group.wait()
let concurrentAccept = seconds(ContinuousClock.now - start)
try waitUntilDrained()
let endToEnd = seconds(ContinuousClock.now - start)
let total = perClient * options.clients
print(String(format: "accept, %2d clients:      %6.0f requests/s  (%d creates in %.2f s)", options.clients, Double(total) / concurrentAccept, total, concurrentAccept))
print(String(format: "accepted → acked:        %6.0f requests/s  (all %d acked %.2f s after the first was sent)", Double(total) / endToEnd, total, endToEnd))

// 3. Latency of one create with --wait on an idle agent: accept, publish, cloud ack, answer.
var latencies: [Double] = []
for n in 0..<200 {
    let t = ContinuousClock.now
    let responses = try submit(.create, ControlArguments(id: id(n, group: 2), publicKey: key, wait: true))
    guard responses.last?.result?.requests?.first?.state == "acked" else { fatalError("not acked: \(responses)") }
    latencies.append(seconds(ContinuousClock.now - t) * 1000)
}
latencies.sort()
print(String(format: "create --wait latency:   p50 %.1f ms, p99 %.1f ms, max %.1f ms (200 sequential)", latencies[100], latencies[197], latencies[199]))
