"""HTTPS server for HTTPClient tests (python3 standard library only).

Usage: https_fixture.py CERT KEY
Listens on 127.0.0.1, an ephemeral port, and prints "PORT <n>" on stdout once ready.

  GET  /json                 200, {"ok": true}
  ANY  /echo                 200, JSON of the method, path, headers (as received) and body (base64)
  GET  /hang                 accepts the request, then never answers
  GET  /big?bytes=N          200 with an N-byte body and Content-Length
  GET  /big-chunked?bytes=N  200 with an N-byte chunked body (no Content-Length)
  GET  /status/NNN           that status, a short text body
"""

import base64
import json
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# The test that starts us may do so from a thread that blocks signals; its stop() must still reach us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ssl.SSLError, ConnectionError, OSError):
            self.close_connection = True

    def send_body(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/json":
            self.send_body(200, b'{"ok": true}')
        elif url.path == "/echo":
            echo = {
                "method": self.command,
                "path": self.path,
                "headers": [[name, value] for name, value in self.headers.items()],
                "body": base64.b64encode(body).decode(),
            }
            self.send_body(200, json.dumps(echo).encode())
        elif url.path == "/hang":
            time.sleep(3600)
        elif url.path == "/big":
            self.send_body(200, b"x" * int(query["bytes"][0]), "application/octet-stream")
        elif url.path == "/big-chunked":
            remaining = int(query["bytes"][0])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while remaining > 0:
                chunk = b"y" * min(remaining, 16384)
                remaining -= len(chunk)
                try:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except OSError:
                    return
            self.wfile.write(b"0\r\n\r\n")
        elif url.path.startswith("/status/"):
            self.send_body(int(url.path.rsplit("/", 1)[1]), b"status page", "text/plain")
        else:
            self.send_body(404, b"no such fixture path", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context):
        super().__init__(("127.0.0.1", 0), Handler)
        self.context = context

    def get_request(self):
        connection, address = self.socket.accept()
        # The handshake runs in the handler's thread, so a client that never completes it blocks nobody else.
        return self.context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address


def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    server = TLSServer(context)
    print(f"PORT {server.server_address[1]}", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
