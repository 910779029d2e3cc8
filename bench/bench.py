#!/usr/bin/env python3
"""The benchmark of gateway-agent against its peers; bench/run starts it (see README, "Benchmarks").

Every round measures the agent and both peers one after the other on the same broker, each with a fresh
identity-responder; figures are medians over the rounds. An idle agent stays connected the whole time for the
footprint figures.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid

from figures import max_in_flight, max_in_window, median, percentile
from stack import Agent, ControlClient, Responder, Stack, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
MB = 1024 * 1024


def options():
    parser = argparse.ArgumentParser(prog="bench/run")
    parser.add_argument("--quick", action="store_true", help="smoke run: small counts, one round, short idle")
    parser.add_argument("--count", type=int, help="creates per throughput run (default 10000)")
    parser.add_argument("--drain-count", type=int, help="queued requests drained at the default quotas (default 10000)")
    parser.add_argument("--runs", type=int, help="rounds; each figure is the median (default 3)")
    parser.add_argument("--clients", type=int, default=32, help="control-socket connections submitting creates")
    parser.add_argument("--window", type=int, default=100,
                        help="in-flight window of the agent (run 1), mosquitto_pub and the awscrt script: 1-100, "
                        "identity.max_inflight's range (AWS IoT's limit; default 100)")
    parser.add_argument("--idle", type=float, help="seconds the idle agent stays connected before its RSS is read (default 600)")
    parser.add_argument("--cpu-window", type=float, help="seconds of idle CPU time measured (default 60)")
    parser.add_argument("--json", help="where the results go (default bench/results/latest.json; quick.json with --quick, "
                        "drain.json with --only drain)")
    parser.add_argument("--only", choices=["drain"],
                        help="measure one line alone: drain = line 3 only (no idle agent, no footprint)")
    args = parser.parse_args()
    if not 1 <= args.window <= 100:
        parser.error("--window must be within 1-100 (identity.max_inflight's range)")
    defaults = dict(count=300, drain_count=200, runs=1, idle=8, cpu_window=4) if args.quick else \
        dict(count=10000, drain_count=10000, runs=3, idle=600, cpu_window=60)
    name = "quick" if args.quick else args.only or "latest"
    defaults["json"] = os.path.join(HERE, "results", name + ".json")
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def new_requests(count):
    return [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(count)]


def submit_creates(agent, requests, key, clients):
    """Creates through `clients` control connections at once; returns when every one is accepted."""
    def worker(share):
        client = ControlClient(agent.socket)
        for _, identity in share:
            client.call("create", {"id": identity, "publicKey": key})
        client.close()
    threads = [threading.Thread(target=worker, args=(requests[i::clients],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def wait_until_drained(agent, timeout):
    def drained():
        status = agent.try_status()
        return status and status["queued"] == 0 and status["inFlight"] == 0
    wait_for("the agent to drain its queue", drained, timeout, 0.1)


def settled_requests(agent, responder, count):
    """The agent's stored requests and the responder's receive times, checked: all acked, each received once."""
    rows = agent.requests()
    acked = [row for row in rows if row[1] == "acked"]
    if len(rows) != count or len(acked) != count:
        raise RuntimeError(f"{agent.name}: {len(acked)} of {len(rows)} stored requests acked, expected {count}")
    responder.wait_for_records(count, 10)
    received = responder.records()
    if len({cid for _, cid, _ in received}) != count or len(received) != count:
        raise RuntimeError(f"{agent.name}: the responder received {len(received)} requests, expected {count} once each")
    return acked, received


def agent_throughput(stack, name, count, key, clients, window):
    """Run 1: quotas off; accept through the control socket -> committed, published, acked, recorded."""
    responder = Responder(stack, name + "-cloud")
    agent = Agent(stack, name, f"max_inflight = {window}\nmax_publish_rate = 0").start()
    requests = new_requests(count)
    cpu_before = agent.cpu_seconds()
    start_ms = time.time() * 1000
    submit_creates(agent, requests, key, clients)
    accepted_ms = time.time() * 1000
    wait_until_drained(agent, 300)
    cpu_used = agent.cpu_seconds() - cpu_before
    acked, received = settled_requests(agent, responder, count)
    memory = agent.memory()
    agent.stop()
    responder.stop()
    last_ack = max(row[3] for row in acked)
    acked_at = {row[0]: row[3] for row in acked}
    latencies = [row[3] - row[2] for row in acked]
    return {
        "requests_per_s": count / ((last_ack - start_ms) / 1000),
        "accepted_per_s": count / ((accepted_ms - start_ms) / 1000),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p99_ms": percentile(latencies, 99),
        "cpu_per_request_us": cpu_used / count * 1e6,
        "max_in_flight": max_in_flight([(t, acked_at[cid]) for t, cid, _ in received]),
        "rss_after_bytes": memory["rss_bytes"],
        "anonymous_after_bytes": memory["anonymous_bytes"],
    }


def payload(identity, key):
    return json.dumps({"identity": identity, "publicKey": key}, sort_keys=True, separators=(",", ":"))


def mosquitto_pub_throughput(stack, name, count, key, window):
    """Peer: mosquitto_pub -l, one QoS 1 message a line, `window` in flight, over the same TLS listener."""
    responder = Responder(stack, name + "-cloud")
    lines = "".join(payload(identity, key) + "\n" for _, identity in new_requests(count))
    topic = f"from/module/{name}/action/identity/create&correlationId={name}&ack=all"
    start = time.monotonic()
    subprocess.run(
        ["mosquitto_pub", "-h", "localhost", "-p", str(stack.port), "--cafile", stack.path("ca.pem"),
         "--cert", stack.path("agent.pem"), "--key", stack.path("agent.key"), "-i", name, "-q", "1", "-M", str(window),
         "-l", "-t", topic], input=lines.encode(), check=True)
    elapsed = time.monotonic() - start
    responder.wait_for_records(count, 30)
    responder.stop()
    return {"requests_per_s": count / elapsed}


def awscrt_throughput(stack, name, count, key, window):
    """Peer: the AWS IoT Device SDK for Python, each request acked by the responder, `window` in flight."""
    responder = Responder(stack, name + "-cloud")
    requests_file = stack.path(name + "-requests.tsv")
    with open(requests_file, "w") as f:
        for correlation_id, identity in new_requests(count):
            f.write(f"{correlation_id}\t{identity}\t{key.replace(chr(10), chr(92) + 'n')}\n")
    result = subprocess.run(
        [sys.executable, os.path.join(HERE, "awscrt_peer.py"), "--port", str(stack.port), "--ca", stack.path("ca.pem"),
         "--cert", stack.path("agent.pem"), "--key", stack.path("agent.key"), "--module", name,
         "--requests", requests_file, "--window", str(window)], capture_output=True, check=True, text=True)
    measured = json.loads(result.stdout)
    responder.stop()
    latencies = [s * 1000 for s in measured["latencies"]]
    return {
        "requests_per_s": count / measured["elapsed"],
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p99_ms": percentile(latencies, 99),
    }


def drain_at_default_quotas(stack, name, count, key, clients):
    """Run 3: `count` requests queued while disconnected, then drained at 100 publishes/s, 100 in flight."""
    responder = Responder(stack, name + "-cloud")
    agent = Agent(stack, name, port=stack.unused_port()).start(connected=False)
    submit_creates(agent, new_requests(count), key, clients)
    agent.stop()
    agent.write_config("", stack.port)
    agent.start()
    wait_until_drained(agent, count / 100 * 2 + 60)
    acked, received = settled_requests(agent, responder, count)
    agent.stop()
    responder.stop()
    acked_at = {row[0]: row[3] for row in acked}
    receive_times = [t for t, _, _ in received]
    return {
        "drain_s": (max(acked_at.values()) - min(receive_times)) / 1000,
        "max_publishes_in_1s": max_in_window(receive_times),
        "max_sent_in_1s": max_in_window([sent for _, _, sent in received]),
        "max_in_flight": max_in_flight([(t, acked_at[cid]) for t, cid, _ in received]),
    }


def binary_facts(stack):
    stripped = stack.path("gateway-agent.stripped")
    subprocess.run(["strip", "--strip-unneeded", "-o", stripped, os.path.join(stack.bin, "gateway-agent")], check=True)
    linked = subprocess.run(["ldd", stripped], capture_output=True, text=True).stdout
    return {"stripped_bytes": os.path.getsize(stripped),
            "swift_runtime": "dynamic" if "libswiftCore" in linked else "static"}


def main():
    args = options()
    stack = Stack(os.environ["BENCH_WORK"], os.environ["BENCH_PORT"], os.environ["BENCH_BIN"])
    key = subprocess.run(
        "openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 | openssl pkey -pubout",
        shell=True, capture_output=True, text=True, check=True).stdout
    started = time.time()
    load_before = os.getloadavg()
    everything = args.only is None

    if everything:
        idle = Agent(stack, "bench-idle").start()
        idle_connected = time.monotonic()

    rounds = []
    for r in range(args.runs):
        print(f"== round {r + 1} of {args.runs}", flush=True)
        measured = {}
        if everything:
            measured["agent"] = agent_throughput(stack, f"bench-agent-{r}", args.count, key, args.clients, args.window)
            measured["mosquitto_pub"] = mosquitto_pub_throughput(stack, f"bench-pub-{r}", args.count, key, args.window)
            measured["awscrt"] = awscrt_throughput(stack, f"bench-awscrt-{r}", args.count, key, args.window)
        measured["drain"] = drain_at_default_quotas(stack, f"bench-drain-{r}", args.drain_count, key, args.clients)
        rounds.append(measured)
        print(json.dumps(rounds[-1]), flush=True)

    def med(part, figure):
        return median([r[part][figure] for r in rounds])
    figures = {f"{part}.{figure}": med(part, figure) for part in rounds[0] for figure in rounds[0][part]}
    if everything:
        figures.update(footprint_figures(args, stack, idle, idle_connected))
        figures["agent/mosquitto_pub"] = median([r["agent"]["requests_per_s"] / r["mosquitto_pub"]["requests_per_s"] for r in rounds])
        figures["agent/awscrt"] = median([r["agent"]["requests_per_s"] / r["awscrt"]["requests_per_s"] for r in rounds])

    results = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": time.time() - started,
        "settings": vars(args),
        "conditions": {"cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
                       "build": os.environ.get("BENCH_BUILD", "")},
        "figures": figures,
        "rounds": rounds,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
    print_table(results, args)
    print(f"results: {args.json}")


def footprint_figures(args, stack, idle, idle_connected):
    """Line 4: the idle agent's RSS and CPU once it has been connected `args.idle` seconds; the binary's size."""
    cpu_from = idle_connected + args.idle - args.cpu_window
    if time.monotonic() < cpu_from:
        print(f"== waiting for the idle agent ({cpu_from - time.monotonic():.0f} s)", flush=True)
        time.sleep(cpu_from - time.monotonic())
    cpu_start, wall_start = idle.cpu_seconds(), time.monotonic()
    time.sleep(args.cpu_window)
    idle_cpu = idle.cpu_seconds() - cpu_start
    idle_wall = time.monotonic() - wall_start
    memory = idle.memory()
    footprint = {
        "idle_seconds": time.monotonic() - idle_connected,
        "idle_rss_bytes": memory["rss_bytes"],
        "idle_anonymous_bytes": memory["anonymous_bytes"],
        "idle_cpu_seconds": idle_cpu,
        "idle_cpu_percent": 100 * idle_cpu / idle_wall,
        "idle_cpu_window_s": idle_wall,
    }
    idle.stop()
    footprint.update(binary_facts(stack))
    return {f"footprint.{k}": v for k, v in footprint.items()}


def print_table(results, args):
    f = results["figures"]
    drain_target = args.drain_count / 100 + 1
    everything = args.only is None
    rows = [] if not everything else [
        ("1  agent, quotas off: accepted -> acked", f"{f['agent.requests_per_s']:.0f} requests/s", "", None),
        ("   accept rate (control socket, committed)", f"{f['agent.accepted_per_s']:.0f} requests/s", "", None),
        ("   accept -> ack latency p50 / p99", f"{f['agent.latency_p50_ms']:.0f} / {f['agent.latency_p99_ms']:.0f} ms", "", None),
        ("   agent CPU per request (all its threads)", f"{f['agent.cpu_per_request_us']:.0f} us", "", None),
        ("   max in flight (quotas off)", f"{f['agent.max_in_flight']}", f"<= {args.window}", f["agent.max_in_flight"] <= args.window),
        (f"2  mosquitto_pub -l, QoS 1, -M {args.window}", f"{f['mosquitto_pub.requests_per_s']:.0f} messages/s", "", None),
        (f"   awscrt script, {args.window} in flight", f"{f['awscrt.requests_per_s']:.0f} requests/s", "", None),
        ("   awscrt publish -> ack latency p50 / p99",
         f"{f['awscrt.latency_p50_ms']:.0f} / {f['awscrt.latency_p99_ms']:.0f} ms", "", None),
        ("   agent / mosquitto_pub", f"{f['agent/mosquitto_pub']:.2f}x", ">= 0.5x", f["agent/mosquitto_pub"] >= 0.5),
        ("   agent / awscrt", f"{f['agent/awscrt']:.2f}x", ">= 3x", f["agent/awscrt"] >= 3),
    ]
    rows += [
        (f"3  drain {args.drain_count} queued, default quotas", f"{f['drain.drain_s']:.1f} s",
         f"<= {drain_target:.0f} s", f["drain.drain_s"] <= drain_target),
        ("   max publishes in any 1 s (cloud side)", f"{f['drain.max_publishes_in_1s']}", "<= 100",
         f["drain.max_publishes_in_1s"] <= 100),
        ("   max publishes in any 1 s (agent's send stamps)", f"{f['drain.max_sent_in_1s']}", "<= 100",
         f["drain.max_sent_in_1s"] <= 100),
        ("   max in flight (cloud side)", f"{f['drain.max_in_flight']}", "<= 100", f["drain.max_in_flight"] <= 100),
    ]
    rows += [] if not everything else [
        (f"4  idle RSS after {f['footprint.idle_seconds']:.0f} s connected (anonymous)",
         f"{f['footprint.idle_rss_bytes'] / MB:.1f} MB ({f['footprint.idle_anonymous_bytes'] / MB:.1f})", "<= 20 MB",
         f["footprint.idle_rss_bytes"] <= 20 * MB),
        ("   RSS at the end of run 1 (anonymous)",
         f"{f['agent.rss_after_bytes'] / MB:.1f} MB ({f['agent.anonymous_after_bytes'] / MB:.1f})", "<= 32 MB",
         f["agent.rss_after_bytes"] <= 32 * MB),
        (f"   idle CPU over {f['footprint.idle_cpu_window_s']:.0f} s",
         f"{f['footprint.idle_cpu_seconds'] * 1000:.0f} ms ({f['footprint.idle_cpu_percent']:.3f} %)", "< 0.1 %",
         f["footprint.idle_cpu_percent"] < 0.1),
        (f"   stripped binary ({f['footprint.swift_runtime']} Swift runtime)",
         f"{f['footprint.stripped_bytes'] / MB:.1f} MB", "", None),
    ]
    c = results["conditions"]
    print(f"\n{args.runs} round(s), medians; N = {args.count}, {args.clients} control clients; build {c['build']}; "
          f"load average {c['loadavg_before'][0]:.2f} before, {c['loadavg_after'][0]:.2f} after, {c['cpus']} CPUs")
    if args.quick:
        print("(--quick: a smoke run of a debug build with small counts; the targets apply to the full run)")
    width = max(len(r[0]) for r in rows)
    for name, value, target, met in rows:
        verdict = "" if met is None or args.quick else ("met" if met else "MISSED")
        print(f"{name:<{width}}  {value:>22}  {target:<8} {verdict}".rstrip())


if __name__ == "__main__":
    main()
