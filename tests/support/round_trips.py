"""Counting the round trips between the app and PostgreSQL, as the network sees them.

`RoundTripProxy` is a loopback TCP proxy in front of the local PostgreSQL that reads the
frontend/backend protocol the client sends. A round trip is a message after which the client
must wait for the server's ReadyForQuery: a simple Query ('Q') or a Sync ('S', which ends one
extended-protocol statement, or a whole pipeline of them). For each, it records the SQL sent
since the last one (the texts of its Query or Parse messages), so a failed count shows what
was sent. It also counts bursts — client sends separated by a server answer — as a
cross-check that needs no knowledge of the protocol. TLS and GSS encryption are off on the
proxied connection (`proxied_url`), or nothing could be read.
"""
import socket
import struct
import threading
from contextlib import contextmanager

from sqlalchemy.engine import make_url

# Untyped first messages: their int32 after the length says which.
SSL_REQUEST, GSSENC_REQUEST, CANCEL_REQUEST = 80877103, 80877104, 80877102
SYNC_POINTS = {b"Q", b"S"}
TIMEOUT_SECONDS = 10  # no test here waits longer on one socket


class _ClientStream:
    """Parses one connection's client → server bytes into messages."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.buffer = b""
        self.started = False  # past the startup message (the first typed one follows)
        self.sql = []  # statements sent since the last sync point

    def feed(self, data):
        self.buffer += data
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    return
                length, code = struct.unpack("!II", self.buffer[:8])
                if len(self.buffer) < length:
                    return
                self.buffer = self.buffer[length:]
                # A refused SSL/GSS request is followed by the real startup message.
                self.started = code not in (SSL_REQUEST, GSSENC_REQUEST)
                continue
            if len(self.buffer) < 5:
                return
            kind = self.buffer[:1]
            (length,) = struct.unpack("!I", self.buffer[1:5])
            if len(self.buffer) < 1 + length:
                return
            body, self.buffer = self.buffer[5:1 + length], self.buffer[1 + length:]
            self._message(kind, body)

    def _message(self, kind, body):
        if kind == b"Q":
            self.sql.append(body.rstrip(b"\0").decode())
        elif kind == b"P":  # name, NUL, query, NUL, ...
            self.sql.append(body.split(b"\0", 2)[1].decode())
        if kind in SYNC_POINTS:
            self.proxy._round_trip(kind.decode(), self.sql)
            self.sql = []


class RoundTripProxy:
    def __init__(self, upstream=("127.0.0.1", 5432)):
        self.upstream = upstream
        self.lock = threading.Lock()
        self.round_trips = []  # (kind, [sql, ...]) in the order sent
        self.bursts = 0
        self._threads = []
        self._sockets = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._start(self._accept)

    def proxied_url(self, url):
        """`url` (a PostgreSQL database URL) through this proxy, unencrypted."""
        url = make_url(url)
        return url.set(host="127.0.0.1", port=self.port).update_query_dict(
            {"sslmode": "disable", "gssencmode": "disable"}).render_as_string(
            hide_password=False)

    def reset(self):
        with self.lock:
            self.round_trips, self.bursts = [], 0

    @contextmanager
    def counting(self):
        """Count what the block sends (only): `with proxy.counting() as seen: ...`."""
        self.reset()
        seen = {}
        yield seen
        with self.lock:
            seen.update(round_trips=list(self.round_trips), bursts=self.bursts)

    def close(self):
        self._stopping.set()
        for sock in list(self._sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._listener.close()
        for thread in self._threads:
            thread.join(TIMEOUT_SECONDS)

    # --- the plumbing ---------------------------------------------------------------------

    def _round_trip(self, kind, sql):
        with self.lock:
            self.round_trips.append((kind, list(sql)))

    def _start(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self):
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            server = socket.create_connection(self.upstream, timeout=TIMEOUT_SECONDS)
            self._sockets += [client, server]
            # Which side spoke last, shared by the two pumps: a client send after the
            # server's answer starts a new burst.
            state = {"server_spoke": True}
            self._start(self._pump, client, server, _ClientStream(self), state)
            self._start(self._pump, server, client, None, state)

    def _pump(self, source, sink, stream, state):
        source.settimeout(None)
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self.lock:
                    if stream is None:
                        state["server_spoke"] = True
                    elif state["server_spoke"]:
                        state["server_spoke"] = False
                        self.bursts += 1
                if stream is not None:
                    stream.feed(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
