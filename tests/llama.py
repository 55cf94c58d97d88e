"""Real LLM servers on loopback for the openai backend's tests.

``LlamaServer``: ``python -m llama_cpp.server`` serving the bundled SmolLM2 GGUF; ``pause()`` /
``resume()`` (SIGSTOP / SIGCONT) make it a server that accepts connections and never answers,
then one that answers again. ``ClosingServer``: a TCP listener that counts connections and
closes each at once, so a client sees a server that is up but fails every request.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from assistant.llm import smollm2_gguf
from tests.conftest import free_port

START_S = 90.0  # loading the 135M GGUF and binding takes 2-10 s on the 2-core CI box


class LlamaServer:
    def __init__(self, threads: int = 2):
        self.port = free_port()
        self.threads = threads
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """What ``Settings.llm_base_url`` takes."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", smollm2_gguf(), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_threads", str(self.threads), "--n_ctx", "2048", "--model_alias", "smollm2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + START_S
        while True:
            try:
                urllib.request.urlopen(self.url + "/models", timeout=2).read()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("llama_cpp.server did not start") from None
                time.sleep(0.3)

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


class ClosingServer:
    """Accepts every connection on a loopback port and closes it at once; counts them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed by stop()
                return
            self.connections += 1
            conn.close()

    def __enter__(self) -> ClosingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
