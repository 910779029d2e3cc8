#!/usr/bin/env python3
"""The AWS IoT Device SDK peer of the benchmark: publishes Identity v2 create requests (the agent's topic
and payload shape) with awscrt over mutual TLS, at most WINDOW without an ack, and waits for every ack
from the identity-responder. Prints one JSON object: elapsed seconds and per-request publish->ack latencies.

    awscrt_peer.py --port P --ca CA --cert CERT --key KEY --module M --requests FILE [--window 100]

FILE holds one request a line: correlation id, identity, public key (tab-separated; the key with its
newlines escaped as \\n).
"""
import argparse
import json
import sys
import threading
import time
import urllib.parse

from awscrt import mqtt
from awsiot import mqtt_connection_builder


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--port", "--ca", "--cert", "--key", "--module", "--requests"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--window", type=int, default=100)
    args = parser.parse_args()

    requests = []
    with open(args.requests) as lines:
        for line in lines:
            correlation_id, identity, key = line.rstrip("\n").split("\t")
            payload = json.dumps({"identity": identity, "publicKey": key.replace("\\n", "\n")},
                                 sort_keys=True, separators=(",", ":"))
            requests.append((correlation_id, payload))

    slots = threading.Semaphore(args.window)
    done = threading.Event()
    sent_at = {}
    latencies = []
    lock = threading.Lock()

    def on_ack(topic, payload, **_):
        properties = urllib.parse.parse_qs(topic.rsplit("/", 1)[-1].partition("&")[2])
        correlation_id = properties.get("correlationId", [""])[0]
        now = time.monotonic()
        with lock:
            started = sent_at.pop(correlation_id, None)
            if started is None:
                return
            latencies.append(now - started)
            if len(latencies) == len(requests):
                done.set()
        slots.release()

    connection = mqtt_connection_builder.mtls_from_path(
        endpoint="localhost", port=int(args.port), cert_filepath=args.cert, pri_key_filepath=args.key,
        ca_filepath=args.ca, client_id=f"bench-awscrt-{args.module}", clean_session=True, keep_alive_secs=60)
    connection.connect().result(timeout=10)
    subscribe, _ = connection.subscribe(
        topic=f"to/module/{args.module}/ack/identity/+", qos=mqtt.QoS.AT_LEAST_ONCE, callback=on_ack)
    subscribe.result(timeout=10)

    start = time.monotonic()
    for correlation_id, payload in requests:
        slots.acquire()
        topic = (f"from/module/{args.module}/action/identity/create&correlationId={correlation_id}&ack=all"
                 f"&timestamp={urllib.parse.quote(time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))}")
        with lock:
            sent_at[correlation_id] = time.monotonic()
        connection.publish(topic=topic, payload=payload, qos=mqtt.QoS.AT_LEAST_ONCE)
    finished = done.wait(timeout=600)
    elapsed = time.monotonic() - start
    connection.disconnect().result(timeout=10)
    if not finished:
        print(f"awscrt peer: {len(latencies)} of {len(requests)} acks arrived", file=sys.stderr)
        sys.exit(1)
    json.dump({"elapsed": elapsed, "latencies": latencies}, sys.stdout)


if __name__ == "__main__":
    main()
