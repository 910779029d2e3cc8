"""The processes of one benchmark: the identity-responder (the cloud) and gateway-agent, each with its own
files under the work directory; the TLS broker and the certificates come from scripts/lib/local-stack.sh."""
import atexit
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime


_children = []


def spawn(command, log):
    """Starts a child that is ended (SIGTERM, then SIGKILL) when the benchmark exits, however it exits."""
    process = subprocess.Popen(command, stdout=log, stderr=log)
    _children.append(process)
    return process


def end_children():
    for process in _children:
        if process.poll() is None:
            process.terminate()
    for process in _children:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


atexit.register(end_children)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


class Stack:
    def __init__(self, work, port, bin_dir):
        self.work, self.port, self.bin = work, int(port), bin_dir

    def path(self, *names):
        return os.path.join(self.work, *names)

    def unused_port(self):
        """A port of 127.0.0.1 where nothing listens (an agent pointed there stays disconnected)."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]


def wait_for(what, predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


class Responder:
    """identity-responder with a fresh state file, written once subscribed (--records-only); its records file
    holds every request with its receive time."""

    def __init__(self, stack, name):
        self.dir = stack.path(name)
        os.makedirs(self.dir, exist_ok=True)
        self.state_file = os.path.join(self.dir, "registry.json")
        self.log = open(os.path.join(self.dir, "responder.log"), "w")
        self.process = spawn(
            [os.path.join(stack.bin, "identity-responder"), "--host", "localhost", "--port", str(stack.port),
             "--cafile", stack.path("ca.pem"), "--cert", stack.path("cloud.pem"), "--key", stack.path("cloud.key"),
             "--client-id", f"responder-{name}", "--state-file", self.state_file, "--records-only"],
            self.log)
        wait_for("the responder to subscribe", lambda: self.state().get("subscribed"), 15)

    def state(self):
        try:
            with open(self.state_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def records(self):
        """(receivedAtMs, correlation id, the request's `timestamp` property in ms) of every request received,
        in arrival order. The agent sets `timestamp` just before it publishes."""
        result = []
        with open(self.state_file + ".records.jsonl") as f:
            for line in f:
                record = json.loads(line)
                properties = record["properties"]
                sent = properties.get("timestamp")
                sent_ms = int(datetime.fromisoformat(sent).timestamp() * 1000) if sent else None
                result.append((record["receivedAtMs"], properties.get("correlationId"), sent_ms))
        return result

    def record_count(self):
        with open(self.state_file + ".records.jsonl", "rb") as f:
            return f.read().count(b"\n")

    def wait_for_records(self, count, timeout):
        wait_for(f"{count} requests at the responder", lambda: self.record_count() >= count, timeout, 0.1)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)
        self.log.close()


class Agent:
    """gateway-agent run with its own state directory and control socket, mqtt-tls to the local broker."""

    def __init__(self, stack, name, identity_lines="", port=None):
        self.stack, self.name = stack, name
        self.dir = stack.path(name)
        os.makedirs(self.dir, exist_ok=True)
        self.socket = os.path.join(self.dir, "control.sock")
        self.config = os.path.join(self.dir, "gateway-agent.toml")
        self.database = os.path.join(self.dir, "state", "identities.sqlite3")
        self.process = None
        self.write_config(identity_lines, port or stack.port)

    def write_config(self, identity_lines, port):
        s = self.stack
        text = f"""[agent]
module_id = "{self.name}"
state_dir = "{self.dir}/state"
control_socket = "{self.socket}"
identities_dir = "{self.dir}/identities.d"
# The benchmark submits from up to 128 connections of one user.
control_max_requests_per_client = 128

[credentials]
source = "none"

[broker]
transport = "mqtt-tls"
endpoint = "localhost:{port}"
ca_file = "{s.path('ca.pem')}"
cert_file = "{s.path('agent.pem')}"
key_file = "{s.path('agent.key')}"
client_id = "{self.name}"

[identity]
{identity_lines}
"""
        with open(os.open(self.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(text)

    def start(self, connected=True):
        self.log = open(os.path.join(self.dir, "agent.log"), "a")
        self.process = spawn([os.path.join(self.stack.bin, "gateway-agent"), "run", "--config", self.config], self.log)
        wait_for("the control socket", lambda: self.try_status(), 20)
        if connected:
            wait_for("the agent to connect", lambda: self.try_status().get("connection") == "connected", 20)
        return self

    def try_status(self):
        try:
            return ControlClient(self.socket).call("status", {})["result"]["status"]
        except (OSError, KeyError, ValueError):
            return {}

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)
        self.log.close()

    def memory(self):
        """Resident bytes: all, and the anonymous part (heap, stacks); the rest is mapped code and data."""
        fields = {}
        with open(f"/proc/{self.process.pid}/smaps_rollup") as f:
            for line in f:
                name, _, value = line.partition(":")
                if value.strip().endswith("kB"):
                    fields[name] = int(value.split()[0]) * 1024
        return {"rss_bytes": fields["Rss"], "anonymous_bytes": fields["Anonymous"]}

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def requests(self):
        """(correlation id, state, accepted_at ms, updated_at ms) of every stored request."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            return db.execute("SELECT correlation_id, state, accepted_at, updated_at FROM requests").fetchall()


class ControlClient:
    """One connection to the control socket; requests are answered in order (JSON lines)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")
        self.next_id = 0

    def call(self, verb, args):
        self.next_id += 1
        line = json.dumps({"v": 1, "id": str(self.next_id), "verb": verb, "args": args}, separators=(",", ":"))
        self.sock.sendall(line.encode() + b"\n")
        answer = self.reader.readline()
        if not answer:
            raise OSError("the agent closed the control connection")
        response = json.loads(answer)
        if not response.get("ok"):
            raise RuntimeError(f"{verb} refused: {response.get('error')}")
        return response

    def close(self):
        self.reader.close()
        self.sock.close()
