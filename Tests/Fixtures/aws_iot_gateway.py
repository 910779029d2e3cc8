#!/usr/bin/env python3
"""A fake AWS IoT Core MQTT-over-WebSocket gateway for the agent's end-to-end tests (standard library only).

Usage: aws_iot_gateway.py --cert PEM --key PEM --issued FILE --target unix:PATH|HOST:PORT --events FILE
                          [--region eu-west-1] [--host 127.0.0.1] [--clock-offset SECONDS]

It listens with TLS on an ephemeral port, prints "PORT <n>" on stdout once ready, and exits when stdin closes.
Each connection must open with a WebSocket upgrade (sub-protocol `mqtt`) to a SigV4-presigned URL, checked the
way AWS IoT checks it:

  - path /mqtt; X-Amz-Algorithm AWS4-HMAC-SHA256; X-Amz-SignedHeaders host;
  - X-Amz-Credential {akid}/{yyyymmdd}/{region}/iotdevicegateway/aws4_request, the day that of X-Amz-Date;
  - X-Amz-Date (yyyymmddThhmmssZ) within 5 minutes of the gateway's clock (this host's, plus --clock-offset:
    a gateway whose clock is that many seconds ahead, for clock-skew tests);
  - the access key id handed out by the fake organization endpoint (--issued, the JSON lines it appends),
    not expired and not revoked, and X-Amz-Security-Token equal to the session token issued with it;
  - X-Amz-Signature recomputed over GET /mqtt, the canonical query without X-Amz-Signature and
    X-Amz-Security-Token, the Host header as received (which must carry the port when it is not 443) and the
    hash of the empty payload, with the secret issued with the key.

Anything wrong is answered with HTTP 403 (404 for another path), as AWS does. Every answer carries a `Date`
header from the gateway's clock. After a good upgrade the MQTT
byte stream is relayed both ways to --target (a real mosquitto).

Commands, one per line on stdin, each answered with one "OK ..." line on stdout once done:
  drop     drop every relayed connection: TCP closed without a WebSocket close frame (AWS's 24 h limit)
  close    send every relayed connection a close frame 1001 "going away", then close it
  revoke   every key issued so far is revoked: its connections are dropped, later upgrades with it get 403
  mismatch every key issued so far is verified against another secret, so upgrades signed with it get 403
           "signature mismatch" (a wrongly signed URL); connections already up stay up
  refuse   answer every later upgrade with 403, whatever it carries
  accept   verify upgrades again (undoes refuse)
  hold     keep later good upgrades waiting for their answer (at most 30 s), until release
  release  answer the upgrades held, and later ones at once (undoes hold)

Events go to --events as JSON lines: {"event": "accepted"|"refused"|"ended", ...} with the access key id, the
X-Amz-Date and the signature (never the secret or the session token).
"""
import argparse
import base64
import datetime
import email.utils
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

from websocket_frames import FrameSocket

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SERVICE = "iotdevicegateway"
ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()
MAX_SKEW = 300


class Refusal(Exception):
    def __init__(self, status, reason, key=None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.key = key


class Gateway:
    def __init__(self, options):
        self.options = options
        self.lock = threading.Lock()
        self.events_lock = threading.Lock()
        self.connections = set()
        self.revoked = set()
        self.mismatched = set()
        self.refusing = False
        self.released = threading.Event()
        self.released.set()

    def now(self):
        """The gateway's clock: this host's, shifted by --clock-offset."""
        return time.time() + self.options.clock_offset

    def date_header(self):
        return "Date: %s\r\n" % email.utils.formatdate(self.now(), usegmt=True)

    def log(self, **event):
        event["time"] = time.time()
        with self.events_lock, open(self.options.events, "a") as handle:
            handle.write(json.dumps(event) + "\n")

    def issued(self):
        """Access key id -> what the organization endpoint handed out with it (the latest, if repeated)."""
        keys = {}
        try:
            with open(self.options.issued) as handle:
                for line in handle:
                    if line.strip():
                        entry = json.loads(line)
                        keys[entry["accessKeyId"]] = entry
        except FileNotFoundError:
            pass
        return keys

    # Verification, in the order AWS reports problems: form, scope, date, key, token, signature.
    def verify(self, method, target, headers):
        path, _, query = target.partition("?")
        if method != "GET":
            raise Refusal(403, "method %s" % method)
        if path != "/mqtt":
            raise Refusal(404, "path %s" % path)
        if self.refusing:
            raise Refusal(403, "refusing on command")
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        params = {}
        for name, value in pairs:
            if name in params:
                raise Refusal(403, "parameter %s repeated" % name)
            params[name] = value

        def need(name):
            if name not in params:
                raise Refusal(403, "missing %s" % name)
            return params[name]

        if need("X-Amz-Algorithm") != ALGORITHM:
            raise Refusal(403, "algorithm %s" % params["X-Amz-Algorithm"])
        if need("X-Amz-SignedHeaders") != "host":
            raise Refusal(403, "signed headers %s" % params["X-Amz-SignedHeaders"])
        credential = need("X-Amz-Credential").split("/")
        if len(credential) != 5:
            raise Refusal(403, "credential %s" % params["X-Amz-Credential"])
        key, day, region, service, terminator = credential
        if region != self.options.region or service != SERVICE or terminator != "aws4_request":
            raise Refusal(403, "scope %s/%s/%s" % (region, service, terminator), key)
        amz_date = need("X-Amz-Date")
        try:
            signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise Refusal(403, "date %s" % amz_date, key)
        if day != amz_date[:8]:
            raise Refusal(403, "scope day %s is not the day of %s" % (day, amz_date), key)
        skew = abs(self.now() - signed_at.timestamp())
        if skew > MAX_SKEW:
            raise Refusal(403, "signed %d s away from now" % skew, key)
        issued = self.issued().get(key)
        if issued is None:
            raise Refusal(403, "unknown access key", key)
        with self.lock:
            if key in self.revoked:
                raise Refusal(403, "revoked access key", key)
        expiration = datetime.datetime.fromisoformat(issued["expiration"].replace("Z", "+00:00"))
        if expiration.timestamp() <= self.now():
            raise Refusal(403, "expired access key", key)
        if not hmac.compare_digest(params.get("X-Amz-Security-Token", ""), issued["sessionToken"]):
            raise Refusal(403, "missing or wrong security token", key)
        host = headers.get("host", "")
        port = self.port
        if port != 443 and not host.endswith(":%d" % port):
            raise Refusal(403, "Host header %s lacks port %d" % (host, port), key)
        signature = need("X-Amz-Signature")
        secret = issued["secretAccessKey"]
        with self.lock:
            if key in self.mismatched:
                secret += "-not-the-one-issued"
        expected = self.signature(params, host, amz_date, "/".join(credential[1:]), secret, day)
        if not hmac.compare_digest(signature, expected):
            raise Refusal(403, "signature mismatch", key)
        return key, amz_date, signature

    @staticmethod
    def signature(params, host, amz_date, scope, secret, day):
        def encode(text):
            return urllib.parse.quote(text, safe="-_.~")

        canonical_query = "&".join(
            "%s=%s" % (encode(name), encode(value))
            for name, value in sorted(params.items())
            if name not in ("X-Amz-Signature", "X-Amz-Security-Token"))
        canonical_request = "\n".join(
            ["GET", "/mqtt", canonical_query, "host:" + host.strip(), "", "host", EMPTY_PAYLOAD_HASH])
        string_to_sign = "\n".join(
            [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])

        def sign(key, message):
            return hmac.new(key, message.encode(), hashlib.sha256).digest()

        signing_key = sign(sign(sign(sign(("AWS4" + secret).encode(), day), scope.split("/")[1]), SERVICE),
                           "aws4_request")
        return hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    def command(self, line):
        words = line.split()
        if not words:
            return "OK"
        verb = words[0]
        if verb in ("drop", "close"):
            with self.lock:
                victims = list(self.connections)
            for connection in victims:
                if verb == "close":
                    connection.end("going away", close_code=1001)
                else:
                    connection.end("dropped by the gateway")
            return "OK %s %d" % (verb, len(victims))
        if verb == "revoke":
            keys = set(self.issued())
            with self.lock:
                self.revoked |= keys
                victims = [c for c in self.connections if c.key in keys]
            for connection in victims:
                connection.end("revoked")
            return "OK revoke %d %d" % (len(keys), len(victims))
        if verb == "mismatch":
            keys = set(self.issued())
            with self.lock:
                self.mismatched |= keys
            return "OK mismatch %d" % len(keys)
        if verb in ("refuse", "accept"):
            with self.lock:
                self.refusing = verb == "refuse"
            return "OK " + verb
        if verb == "hold":
            self.released.clear()
            return "OK hold"
        if verb == "release":
            self.released.set()
            return "OK release"
        return "ERROR unknown command %s" % verb


class Connection(FrameSocket):
    """One upgraded client connection and its relay to the broker."""

    def __init__(self, gateway, sock, key):
        super().__init__(sock)
        self.gateway = gateway
        self.key = key
        self.target = None
        self.end_reason = None
        self.end_lock = threading.Lock()

    def end(self, reason, close_code=None):
        """Ends the connection from the gateway's side (drop, close, revoke, the broker went away)."""
        with self.end_lock:
            if self.end_reason is not None:
                return
            self.end_reason = reason
        if close_code is not None:
            try:
                self.send_frame(0x8, struct.pack("!H", close_code) + reason.encode())
            except OSError:
                pass
        for end in (self.sock, self.target):
            if end is None:
                continue
            try:
                # The plain socket's shutdown: it wakes the threads blocked in recv on this connection.
                socket.socket.shutdown(end, socket.SHUT_RDWR)
            except OSError:
                pass

    def pump_broker(self):
        try:
            while True:
                data = self.target.recv(65536)
                if not data:
                    break
                self.send_frame(0x2, data)
        except OSError:
            pass
        self.end("broker closed", close_code=1000)

    def relay(self, early):
        self.buffer = early
        target = self.gateway.options.target
        if target.startswith("unix:"):
            self.target = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.target.connect(target[len("unix:"):])
        else:
            host, port = target.rsplit(":", 1)
            self.target = socket.create_connection((host, int(port)))
        threading.Thread(target=self.pump_broker, daemon=True).start()
        reason = "client closed"
        try:
            while True:
                _, opcode, payload = self.read_frame()
                if opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1000
                    reason = "close frame %d" % code
                    self.send_frame(0x8, struct.pack("!H", code))
                    break
                if opcode == 0x9:
                    self.send_frame(0xA, payload)
                elif opcode in (0x0, 0x2):
                    self.target.sendall(payload)
                elif opcode != 0xA:
                    reason = "unexpected opcode %d" % opcode
                    break
        except (ConnectionError, ssl.SSLError, OSError) as error:
            reason = str(error) or error.__class__.__name__
        self.end(reason)
        self.gateway.log(event="ended", accessKeyId=self.key, reason=self.end_reason)


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > 16384:
            return None, None
        data += chunk
    head, early = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), early


def serve(gateway, raw, context):
    try:
        raw.settimeout(10)
        sock = context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as error:
        gateway.log(event="tls-failed", reason=error.__class__.__name__)
        raw.close()
        return
    try:
        head, early = read_head(sock)
        if head is None:
            return
        lines = head.split("\r\n")
        method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        try:
            key, amz_date, signature = gateway.verify(method, target, headers)
            websocket_key = headers.get("sec-websocket-key", "")
            offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
            if (headers.get("upgrade", "").lower() != "websocket"
                    or "upgrade" not in headers.get("connection", "").lower()
                    or headers.get("sec-websocket-version") != "13" or "mqtt" not in offered
                    or len(base64.b64decode(websocket_key or "")) != 16):
                raise Refusal(400, "not an MQTT WebSocket upgrade", key)
        except Refusal as refusal:
            gateway.log(event="refused", status=refusal.status, reason=refusal.reason, accessKeyId=refusal.key)
            text = {400: "Bad Request", 403: "Forbidden", 404: "Not Found"}[refusal.status]
            body = json.dumps({"message": text}).encode()
            sock.sendall(
                b"HTTP/1.1 %d %s\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n"
                % (refusal.status, text.encode(), gateway.date_header().encode(), len(body)) + body)
            return
        gateway.released.wait(30)
        accept = base64.b64encode(hashlib.sha1(websocket_key.encode() + GUID).digest()).decode()
        sock.settimeout(None)
        connection = Connection(gateway, sock, key)
        with gateway.lock:
            if key in gateway.revoked:
                return
            gateway.connections.add(connection)
        try:
            sock.sendall(
                ("HTTP/1.1 101 Switching Protocols\r\n%sUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
                 % (gateway.date_header(), accept)).encode())
            gateway.log(event="accepted", accessKeyId=key, amzDate=amz_date, signature=signature,
                        host=headers.get("host", ""))
            connection.relay(early)
        finally:
            with gateway.lock:
                gateway.connections.discard(connection)
            if connection.target is not None:
                connection.target.close()
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--issued", required=True, help="the organization endpoint's issued-credentials file")
    parser.add_argument("--target", required=True, help="unix:PATH or HOST:PORT of the MQTT broker")
    parser.add_argument("--events", required=True)
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--clock-offset", type=float, default=0.0,
                        help="seconds the gateway's clock is ahead of this host's (negative: behind)")
    options = parser.parse_args()
    # Descriptors inherited from a test runner that spawns children concurrently (other tests' pipes): holding
    # them open would keep those tests from seeing end of file.
    os.closerange(3, 65536)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(options.cert, options.key)
    gateway = Gateway(options)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((options.host, 0))
    listener.listen(16)
    gateway.port = listener.getsockname()[1]

    def accept_loop():
        while True:
            raw, _ = listener.accept()
            threading.Thread(target=serve, args=(gateway, raw, context), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    print("PORT %d" % gateway.port, flush=True)
    for line in sys.stdin:
        print(gateway.command(line.strip()), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
