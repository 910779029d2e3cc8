#!/usr/bin/env python3
"""A WebSocket-over-TLS endpoint for the tunnel tests (standard library only).

It speaks the server side of RFC 6455 with sub-protocol `mqtt`, and either echoes each binary message back
or relays the byte stream to a TCP target (a real mosquitto). Options make it misbehave on purpose.
It writes `READY <port>` to --ready-file once listening, and one line per notable event to --events; it exits
when its stdin closes.
"""
import argparse
import base64
import hashlib
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import urllib.parse

from websocket_frames import FrameSocket, UnmaskedFrame

# The test that starts us may do so from a thread that blocks signals; its stop() must still reach us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Events:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def log(self, line):
        with self.lock, open(self.path, "a") as handle:
            handle.write(line + "\n")


class ClientGone(Exception):
    pass


class Connection(FrameSocket):
    """One client connection: frame reading and (locked) frame writing."""

    def __init__(self, sock, options, events):
        super().__init__(sock)
        self.options = options
        self.events = events
        self.close_sent = False

    def read_frame(self):
        try:
            return super().read_frame()
        except UnmaskedFrame:
            self.events.log("UNMASKED")
            self.send_close(1002, "client frames must be masked")
            raise ClientGone()
        except ConnectionError:
            raise ClientGone()

    def send_message(self, payload):
        size = self.options.fragment
        if size <= 0 or len(payload) <= size:
            self.send_frame(0x2, payload)
            return
        pieces = [payload[i:i + size] for i in range(0, len(payload), size)]
        frames = b""
        for index, piece in enumerate(pieces):
            opcode = 0x2 if index == 0 else 0x0
            frames += self.header(index == len(pieces) - 1, opcode, len(piece)) + piece
        self.send_raw(frames)

    def send_close(self, code, reason=""):
        if self.close_sent:
            return
        self.close_sent = True
        self.send_frame(0x8, struct.pack("!H", code) + reason.encode())


def handshake(sock, options, events):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > 16384:
            return None
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    path, _, query = target.partition("?")
    params = urllib.parse.parse_qs(query)
    events.log(
        "REQUEST method=%s path=%s host=%s protocol=%s"
        % (method, path, headers.get("host", ""), headers.get("sec-websocket-protocol", "")))

    def refuse(status, text):
        events.log("REFUSED %d" % status)
        body = text.encode()
        sock.sendall(
            b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (status, text.encode(), len(body)) + body)
        return None

    if options.status:
        return refuse(options.status, "Refused")
    if options.require_signature is not None:
        if params.get("X-Amz-Signature", [""])[0] != options.require_signature:
            return refuse(403, "Forbidden")
    key = headers.get("sec-websocket-key", "")
    if (method != "GET" or headers.get("upgrade", "").lower() != "websocket"
            or "upgrade" not in headers.get("connection", "").lower()
            or headers.get("sec-websocket-version") != "13" or len(base64.b64decode(key or "")) != 16):
        return refuse(400, "Bad Request")
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
    if "mqtt" not in offered:
        return refuse(400, "Bad Request")
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    if options.bad_accept:
        accept = base64.b64encode(b"0" * 20).decode()
    answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    answer += "Sec-WebSocket-Accept: %s\r\n" % accept
    if not options.omit_protocol:
        answer += "Sec-WebSocket-Protocol: mqtt\r\n"
    sock.sendall(answer.encode() + b"\r\n")
    events.log("UPGRADED")
    return data.split(b"\r\n\r\n", 1)[1]


def reply(connection, message, count):
    options = connection.options
    if options.ping:
        connection.send_frame(0x9, b"ping-%d" % count)
    if options.reply_oversized:
        # A header announcing 2 MiB, and only the start of the payload.
        connection.send_raw(Connection.header(True, 0x2, 2 * 1024 * 1024) + b"x" * 1024)
        return
    if options.reply_text:
        connection.send_frame(0x1, b"text")
        return
    connection.send_message(message)
    if options.close_after and count >= options.close_after:
        connection.send_close(1000, "bye")
    if options.drop_after and count >= options.drop_after:
        connection.sock.shutdown(socket.SHUT_RDWR)
        raise ClientGone()


def pump_target(connection, target):
    try:
        while True:
            data = target.recv(65536)
            if not data:
                break
            connection.send_message(data)
    except OSError:
        pass
    try:
        connection.send_close(1000, "broker closed")
    except OSError:
        pass


def serve(raw, context, options, events):
    target = None
    try:
        sock = context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as error:
        events.log("TLS-FAILED %s" % error.__class__.__name__)
        raw.close()
        return
    try:
        early = handshake(sock, options, events)
        if early is None:
            return
        connection = Connection(sock, options, events)
        connection.buffer = early
        if options.target:
            host, port = options.target.rsplit(":", 1)
            target = socket.create_connection((host, int(port)))
            threading.Thread(target=pump_target, args=(connection, target), daemon=True).start()
        message, count = b"", 0
        while True:
            fin, opcode, payload = connection.read_frame()
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                events.log("CLOSE %s" % code)
                connection.send_close(code or 1000)
                return
            if opcode == 0x9:
                connection.send_frame(0xA, payload)
            elif opcode == 0xA:
                events.log("PONG %s" % payload.decode())
            elif opcode in (0x0, 0x2):
                if target is not None:
                    target.sendall(payload)
                    continue
                message += payload
                if fin:
                    count += 1
                    events.log("MESSAGE %d" % len(message))
                    reply(connection, message, count)
                    message = b""
            else:
                events.log("UNEXPECTED-OPCODE %d" % opcode)
                connection.send_close(1003)
                return
    except (ClientGone, ConnectionError, ssl.SSLError, OSError):
        events.log("GONE")
    finally:
        if target is not None:
            target.close()
        try:
            sock.close()
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--target", help="relay to this host:port instead of echoing")
    parser.add_argument("--require-signature", help="answer 403 unless X-Amz-Signature has this value")
    parser.add_argument("--status", type=int, default=0, help="refuse every upgrade with this status")
    parser.add_argument("--fragment", type=int, default=0, help="split replies into frames of this many bytes")
    parser.add_argument("--ping", action="store_true", help="send a ping before each reply")
    parser.add_argument("--close-after", type=int, default=0, help="send close 1000 after this many replies")
    parser.add_argument("--drop-after", type=int, default=0, help="drop TCP (no close frame) after this many")
    parser.add_argument("--reply-oversized", action="store_true")
    parser.add_argument("--reply-text", action="store_true")
    parser.add_argument("--omit-protocol", action="store_true")
    parser.add_argument("--bad-accept", action="store_true")
    parser.add_argument("--max-tls11", action="store_true", help="offer nothing newer than TLS 1.1")
    options = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if options.max_tls11:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(options.cert, options.key)
    events = Events(options.events)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((options.host, 0))
    listener.listen(16)
    with open(options.ready_file + ".tmp", "w") as handle:
        handle.write("READY %d\n" % listener.getsockname()[1])
    os.rename(options.ready_file + ".tmp", options.ready_file)
    # The test keeps our stdin open; when it closes (the test process ended), so do we.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    while True:
        raw, _ = listener.accept()
        threading.Thread(target=serve, args=(raw, context, options, events), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
