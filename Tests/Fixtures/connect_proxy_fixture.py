#!/usr/bin/env python3
"""An HTTP CONNECT proxy for the tunnel tests (standard library only).

It answers CONNECT host:port with 200 and then pipes bytes both ways; with --require-auth user:password it answers
407 unless Proxy-Authorization carries those Basic credentials. It writes `READY <port>` to --ready-file and one
`CONNECT <authority> auth=<ok|missing|wrong>` line per request to --events. It exits when its stdin closes.
"""
import argparse
import base64
import os
import signal
import socket
import sys
import threading

# The test that starts us may do so from a thread that blocks signals; its stop() must still reach us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


def pipe(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    for end in (sink, source):
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client, options, log):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk:
            client.close()
            return
        data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    method, authority, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    given = headers.get("proxy-authorization")
    if given is None:
        auth = "missing"
    elif options.require_auth and given == "Basic " + base64.b64encode(options.require_auth.encode()).decode():
        auth = "ok"
    else:
        auth = "wrong" if options.require_auth else "given"
    log("CONNECT %s auth=%s" % (authority, auth))
    if method != "CONNECT":
        client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        client.close()
        return
    if options.require_auth and auth != "ok":
        client.sendall(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\n"
            b"Content-Length: 0\r\n\r\n")
        client.close()
        return
    host, _, port = authority.rpartition(":")
    try:
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        upstream.settimeout(None)
    except OSError:
        client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        client.close()
        return
    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    pipe(upstream, client)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--require-auth", help="user:password the proxy demands")
    options = parser.parse_args()
    lock = threading.Lock()

    def log(line):
        with lock, open(options.events, "a") as handle:
            handle.write(line + "\n")

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    with open(options.ready_file + ".tmp", "w") as handle:
        handle.write("READY %d\n" % listener.getsockname()[1])
    os.rename(options.ready_file + ".tmp", options.ready_file)
    # The test keeps our stdin open; when it closes (the test process ended), so do we.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, options, log), daemon=True).start()


if __name__ == "__main__":
    main()
