"""A TCP listener on loopback that only counts the connections it accepts: the
target a refused URL names, to prove that aihub never connected to it."""

from __future__ import annotations

import asyncio
import socket
import threading


class AcceptRecorder:
    """Listens on ``host`` (``127.0.0.1`` or ``::1``), port 0, in its own thread;
    every connection is counted, then closed without a byte."""

    def __init__(self, host: str = "::1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._accepted = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def accepted(self) -> int:
        with self._lock:
            return self._accepted

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._accepted += 1
            conn.close()

    async def settle(self) -> None:
        """Give a connection made just now the time to be counted."""
        await asyncio.sleep(0.2)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
