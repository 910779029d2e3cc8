"""Server side of RFC 6455 framing, shared by the WebSocket test fixtures (python3 standard library only)."""
import struct
import threading


class UnmaskedFrame(ConnectionError):
    """The client sent an unmasked frame, which RFC 6455 forbids."""


class FrameSocket:
    """Reads client frames from, and writes (locked) server frames to, one upgraded connection."""

    def __init__(self, sock):
        self.sock = sock
        self.send_lock = threading.Lock()
        # Bytes read past the HTTP upgrade are frames already; subclasses may preload them here.
        self.buffer = b""

    def recv_exact(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("client closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_frame(self):
        """(fin, opcode, unmasked payload) of the next frame; UnmaskedFrame for an unmasked one."""
        first, second = self.recv_exact(2)
        fin, opcode = bool(first & 0x80), first & 0x0F
        masked, length = bool(second & 0x80), second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.recv_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.recv_exact(8))
        if not masked:
            raise UnmaskedFrame("unmasked client frame")
        key = self.recv_exact(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(self.recv_exact(length)))
        return fin, opcode, payload

    def send_raw(self, data):
        with self.send_lock:
            self.sock.sendall(data)

    @staticmethod
    def header(fin, opcode, length):
        first = (0x80 if fin else 0) | opcode
        if length < 126:
            return struct.pack("!BB", first, length)
        if length <= 0xFFFF:
            return struct.pack("!BBH", first, 126, length)
        return struct.pack("!BBQ", first, 127, length)

    def send_frame(self, opcode, payload, fin=True):
        self.send_raw(self.header(fin, opcode, len(payload)) + payload)
