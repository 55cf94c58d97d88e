"""Finding 8: after any MCP call, SIGTERM no longer stopped `shopassist serve` ("Waiting for
connections to close." for 30 s+), so a deploy or `docker stop` hung. The real CLI in a
subprocess, a real MCP client, a real SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from shopassist.settings import Settings
from tests.conftest import free_port
from tests.security.conftest import HOSTILE
from tests.ui.test_mcp import mcp_calls

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_stops_the_server_within_seconds_after_an_mcp_session(tmp_path):
    from retrieval.ingest import ingest

    data = tmp_path / "data"
    ingest(Settings(data_dir=data), HOSTILE, progress=False)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1", "SHOPASSIST_SHUTDOWN_GRACE_S": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shopassist.cli", "--data-dir", str(data), "serve", "--port", str(port),
         "--llm-backend", "scripted"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read()[-2000:]
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)
        _, [(err, text)] = mcp_calls(url, [("search_catalog", {"query": "blender", "limit": 2})])
        assert not err and "hostile-0001" in text
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert took < 8, f"SIGTERM took {took:.1f} s"
