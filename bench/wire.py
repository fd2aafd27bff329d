"""Counting round trips to PostgreSQL: a loopback TCP proxy between the app and the server.

A round trip is the client speaking after the server answered: every time bytes go client →
server on a connection after bytes went the other way (or first), one is counted. Statements
the driver pipelines into one send count once; a pre-ping, a BEGIN or a ROLLBACK sent on its
own and waited for counts one each — the network's truth, whatever the driver does.
"""
import selectors
import socket
import threading


class RoundTripCounter:
    def __init__(self, target=("127.0.0.1", 5432)):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.round_trips = 0
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self):
        with self._lock:
            self.round_trips = 0

    def close(self):
        self._closed = True
        self.listener.close()

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, client, server):
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, server)
        selector.register(server, selectors.EVENT_READ, client)
        last_from_client = False
        try:
            while True:
                for key, _ in selector.select(timeout=60):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    from_client = key.fileobj is client
                    if from_client and not last_from_client:
                        with self._lock:
                            self.round_trips += 1
                    last_from_client = from_client
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()
