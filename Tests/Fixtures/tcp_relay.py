"""Loopback TCP relay for the fault tests (python3 standard library only).

Usage: tcp_relay.py TARGET_PORT
Listens on 127.0.0.1, an ephemeral port, prints "PORT <n>" on stdout once ready, and relays every connection
to 127.0.0.1:TARGET_PORT (TLS passes through untouched). Commands, one per line on stdin, each answered with
"ok <command> <open connections>" on stdout once applied:

  pass       relay normally (the default); connections accepted from now on reach the target
  pause      stall: connections stay open, nothing is forwarded either way until "pass" (then all of it is)
  drop       close every open connection (both sides); keep accepting
  blackhole  open connections and new ones: read and swallow everything, never answer, never close
  count      just report the open connections

Exits when stdin closes.
"""

import asyncio
import signal
import sys

# The test that starts us may do so from a thread that blocks signals; its stop() must still reach us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

mode = "pass"
flowing = asyncio.Event()
connections = set()


class Connection:
    def __init__(self, client_reader, client_writer):
        self.client = (client_reader, client_writer)
        self.upstream = None
        self.tasks = []

    def close(self):
        for task in self.tasks:
            task.cancel()
        for pair in (self.client, self.upstream):
            if pair is not None:
                pair[1].transport.abort()
        connections.discard(self)


async def pump(connection, reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            while mode == "pause":
                await flowing.wait()
            if mode == "blackhole":
                continue
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    connection.close()


async def swallow(connection, reader):
    try:
        while await reader.read(65536):
            pass
    except (ConnectionError, OSError):
        pass
    connection.close()


async def accept(reader, writer, target_port):
    connection = Connection(reader, writer)
    connections.add(connection)
    if mode == "blackhole":
        connection.tasks.append(asyncio.current_task())
        await swallow(connection, reader)
        return
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        connection.close()
        return
    connection.upstream = (up_reader, up_writer)
    connection.tasks = [
        asyncio.ensure_future(pump(connection, reader, up_writer)),
        asyncio.ensure_future(pump(connection, up_reader, writer)),
    ]


async def commands():
    global mode
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        command = line.strip()
        if command in ("pass", "pause", "blackhole"):
            mode = command
            if mode == "pause":
                flowing.clear()
            else:
                flowing.set()
        elif command == "drop":
            for connection in list(connections):
                connection.close()
        elif command != "count":
            print(f"error unknown command {command}", flush=True)
            continue
        print(f"ok {command} {len(connections)}", flush=True)


async def main():
    target_port = int(sys.argv[1])
    flowing.set()
    server = await asyncio.start_server(lambda r, w: accept(r, w, target_port), "127.0.0.1", 0)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await commands()


if __name__ == "__main__":
    asyncio.run(main())
