"""A real Chroma server for the tests: ``chroma run`` on a free loopback port over a temp dir.

``stop()`` kills it (SIGKILL: a crash, not a shutdown) and ``start()`` brings it back on the
same port and path, so a client opened before the crash finds its collection again;
``pause()`` / ``resume()`` (SIGSTOP / SIGCONT) make it a server that accepts connections and
never answers.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import free_port

START_S = 60.0  # `chroma run` answers its heartbeat in 2-5 s on the 2-core CI box; a busy one is slower


def chroma_exe() -> Path | None:
    """The chromadb CLI next to this Python, or None where it is not installed."""
    exe = Path(sys.executable).parent / "chroma"
    return exe if exe.exists() else None


class ChromaServer:
    def __init__(self, path: Path, port: int | None = None):
        self.path = Path(path)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        """What ``Settings.chroma`` takes."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> ChromaServer:
        exe = chroma_exe()
        if exe is None:
            raise RuntimeError("the chroma CLI is not installed in this environment")
        self.proc = subprocess.Popen(
            [str(exe), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import chromadb

        deadline = time.monotonic() + START_S
        while True:
            try:
                chromadb.HttpClient(host="127.0.0.1", port=self.port).heartbeat()
                return self
            except Exception:  # not up yet: connection refused until the server listens
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"chroma run did not start on port {self.port}") from None
                time.sleep(0.3)

    def stop(self) -> None:
        """Kill it (a crash: nothing is flushed on the way out) and wait until the port is free."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a paused process cannot die until it runs again
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
