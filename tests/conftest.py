"""Shared fixtures: settings pointed at tmp_path, the real MiniLM loaded once per session.

Area-specific fixtures live in tests/<area>/conftest.py.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

# Models ship as packages: nothing may reach a model hub during tests.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

from shopassist.settings import Settings  # noqa: E402

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"  # Debian's; never `playwright install`


def dataset(name: str) -> Path:
    """A folder of ../shared/datasets, or skip when this checkout has none beside it."""
    path = DATASETS / name
    if not path.exists():
        pytest.skip(f"dataset {name} not found at {path}")
    return path


def dataset_products(name: str, file: str, limit: int) -> list:
    """The first ``limit`` rows of a dataset's product file as bare Products (id, title, price,
    brand, the Amazon ``main_category``), for tests of pure functions over real titles."""
    import gzip
    import json

    from retrieval.catalog import Product

    out = []
    with gzip.open(dataset(name) / file, "rt") as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            d = json.loads(line)
            price = d.get("price")
            out.append(Product(id=str(d.get("parent_asin") or d.get("id")), title=d.get("title") or "",
                               price=float(price) if price not in (None, "") else None,
                               brand=d.get("brand") or d.get("supplier") or None,
                               categories=[d["main_category"]] if d.get("main_category") else []))
    return out


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """No test reads the developer's own settings or writes outside tmp_path."""
    for key in list(os.environ):
        if key.startswith("SHOPASSIST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SHOPASSIST_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2, loaded once for the whole session."""
    from retrieval.models import load_embedder

    return load_embedder()


# -- a real PostgreSQL on loopback, one per session (tests/postgres.py) ------------------------------
@pytest.fixture(scope="session")
def postgres():
    """The session's PostgreSQL server; skips only where its binaries are absent and CI did not
    ask for them (``TESTS_REQUIRE_POSTGRES=1``, set by .ci/run, turns the skip into a failure)."""
    from tests.postgres import REQUIRE_ENV, PostgresServer, pg_bindir

    bindir = pg_bindir()
    if bindir is None:
        why = "PostgreSQL is not installed (apt-get install -y postgresql)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{why}, and {REQUIRE_ENV}=1 says these tests must run")
        pytest.skip(why)
    server = PostgresServer(bindir).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def events_url(request, tmp_path) -> str:
    """A fresh, empty conversation store URL on each engine: a SQLite file in tmp_path, or a new
    database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.sqlite'}"
    return request.getfixturevalue("postgres").create_database()


# -- a real `chroma run` on loopback, one per session (tests/chroma.py) ------------------------------
@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """The session's Chroma server ("127.0.0.1:port" for ``Settings.chroma``); tests that stop it
    start their own ``tests.chroma.ChromaServer``."""
    from tests.chroma import ChromaServer, chroma_exe

    if chroma_exe() is None:
        pytest.skip("the chroma CLI is not installed in this environment")
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server")).start()
    yield server.address
    server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a real headless Chromium, one per session for every area that drives one (ui, security) -------
@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    p = ctx.new_page()
    p.set_default_timeout(30_000)
    yield p
    ctx.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
