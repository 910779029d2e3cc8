"""Fake organization endpoint for CloudCredentials tests (python3 standard library only, HTTPS).

Usage: org_endpoint.py CERT KEY STATE_DIR
Listens on 127.0.0.1, an ephemeral port, and prints "PORT <n>" on stdout once ready; exits when stdin closes.

Serves GET <any prefix>/organizations/<organization_id>/iot-endpoint-and-credentials. Each organization has its
own behaviour and its own request log, so that tests running in parallel share one server without seeing each
other. Both live in STATE_DIR, named by the organization id percent-encoded (RFC 3986 unreserved kept):

  <id>.json    what to answer, read on every request (tests replace it atomically to switch at run time):
               {"responses": [R, R, ...]}: the n-th request gets the n-th response, the last one repeats.
               No file: one success.
  <id>.jsonl   one JSON line per request received: {"time", "path", "authorization", "n"} (n counts from 1).
  <id>.issued.jsonl   one JSON line per set of credentials handed out: {"accessKeyId", "secretAccessKey",
               "sessionToken", "expiration"}, so that a fake AWS IoT gateway (aws_iot_gateway.py) can verify
               signatures made with them.

A response R is one of:
  {"kind": "credentials", "lifetime": S, "region": "...", "iotEndpoint": "...", "expirationStyle": STYLE}
       200 with fresh credentials expiring S seconds from now (negative: already expired); the access key id
       carries n, so rotation is visible. STYLE: "millis" (default, 2024-01-01T00:00:00.000Z), "seconds"
       (no fraction), "offset" (+02:00 instead of Z).
  {"kind": "reply", "status": N, "body": "text", "headers": {"Name": "value"}}   exactly that.
  {"kind": "slow", "delay": S, "then": R}     waits S seconds, then answers R.
  {"kind": "hang"}                            reads the request and never answers.
  {"kind": "truncated"}                       announces a longer body than it sends, then closes.
  {"kind": "skewed", "offset": S, "then": R}  answers R with a Date header S seconds ahead of this host's clock.
"""

import datetime
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

# The test that starts us may do so from a thread that blocks signals; its stop() must still reach us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

SUFFIX = "/iot-endpoint-and-credentials"
lock = threading.Lock()


def register_secrets(secrets):
    """Adds minted secrets to the test run's secrets audit (Tests/TestSupport/TestTranscripts.swift)."""
    directory = os.environ.get("GATEWAY_AGENT_TEST_TRANSCRIPTS")
    if not directory:
        return
    os.makedirs(os.path.join(directory, "secrets"), exist_ok=True)
    with lock, open(os.path.join(directory, "secrets", f"org-endpoint-{os.getpid()}.tsv"), "a") as out:
        for kind, value in secrets.items():
            out.write(f"{kind}\t{value}\n")


def expiration_text(seconds, style):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    if style == "seconds":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "offset":
        local = moment.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
        return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+02:00"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    # Seconds the Date header is ahead of this host's clock ("skewed" responses).
    date_offset = 0

    def log_message(self, format, *args):
        pass

    def date_time_string(self, timestamp=None):
        return super().date_time_string((time.time() if timestamp is None else timestamp) + self.date_offset)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ssl.SSLError, ConnectionError, OSError):
            self.close_connection = True

    def reply(self, status, body, headers=None):
        data = body.encode()
        headers = headers or {}
        self.send_response(status)
        if not any(name.lower() == "content-type" for name in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urlsplit(self.path).path
        _, separator, organization = path[: -len(SUFFIX)].rpartition("/organizations/")
        if not path.endswith(SUFFIX) or not separator or not organization:
            self.reply(404, json.dumps({"error": "NotFound", "message": f"no route for {path}"}))
            return
        name = quote(unquote(organization), safe="")
        state = self.server.state_dir
        with lock:
            log = os.path.join(state, name + ".jsonl")
            count = 1
            if os.path.exists(log):
                with open(log) as existing:
                    count += sum(1 for _ in existing)
            entry = {
                "time": time.time(),
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "n": count,
            }
            with open(log, "a") as out:
                out.write(json.dumps(entry) + "\n")
        try:
            with open(os.path.join(state, name + ".json")) as plan:
                responses = json.load(plan)["responses"]
        except FileNotFoundError:
            responses = [{"kind": "credentials", "lifetime": 3600}]
        self.issued_log = os.path.join(state, name + ".issued.jsonl")
        self.answer(responses[min(count, len(responses)) - 1], count)

    def answer(self, response, count):
        kind = response["kind"]
        if kind == "credentials":
            body = {
                "data": {
                    "awsRegion": response.get("region", "eu-west-1"),
                    "iotEndpoint": response.get("iotEndpoint", "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com"),
                    "credentials": {
                        "accessKeyId": f"ASIAFAKE{count:012d}",
                        "secretAccessKey": f"fake-secret-{count}/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
                        "sessionToken": f"fake-session-token-{count}//////////+=",
                        "expiration": expiration_text(response.get("lifetime", 3600), response.get("expirationStyle")),
                    },
                }
            }
            with lock, open(self.issued_log, "a") as issued:
                issued.write(json.dumps(body["data"]["credentials"]) + "\n")
            credentials = body["data"]["credentials"]
            register_secrets({"secret access key": credentials["secretAccessKey"],
                              "session token": credentials["sessionToken"]})
            self.reply(200, json.dumps(body))
        elif kind == "reply":
            self.reply(response["status"], response.get("body", ""), response.get("headers"))
        elif kind == "slow":
            time.sleep(response["delay"])
            self.answer(response["then"], count)
        elif kind == "skewed":
            self.date_offset = response["offset"]
            self.answer(response["then"], count)
        elif kind == "hang":
            time.sleep(3600)
        elif kind == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "500")
            self.end_headers()
            self.wfile.write(b'{"data": {"awsRegion": "eu-we')
            self.wfile.flush()
            self.close_connection = True
        else:
            self.reply(500, json.dumps({"error": "FixtureError", "message": f"unknown kind {kind}"}))


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context, state_dir):
        super().__init__(("127.0.0.1", 0), Handler)
        self.context = context
        self.state_dir = state_dir

    def get_request(self):
        connection, address = self.socket.accept()
        # The handshake runs in the handler's thread, so a client that never completes it blocks nobody else.
        return self.context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address


def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    server = TLSServer(context, sys.argv[3])
    print(f"PORT {server.server_address[1]}", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
