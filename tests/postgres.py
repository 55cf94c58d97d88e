"""A real PostgreSQL server for the tests: initdb'd in a temp dir, listening on a free loopback
port (and a unix socket in that dir), stopped and removed at the end of the session.

Debian's ``postgresql`` package puts its binaries in ``/usr/lib/postgresql/<major>/bin`` (not on
PATH); a PATH ``initdb`` wins. The server refuses to run as root, so under root it runs as
``nobody``. Where the binaries are absent the tests that need them skip, unless
``TESTS_REQUIRE_POSTGRES=1`` (set by ``.ci/run``): then the absence is a failure, so CI never
passes without having run them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

REQUIRE_ENV = "TESTS_REQUIRE_POSTGRES"
ADMIN = "shopassist"  # the superuser initdb creates (trust auth, loopback only)


def pg_bindir() -> Path | None:
    """The folder holding initdb/pg_ctl: PATH first, then Debian's newest major version."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(dirs[-1]).parent if dirs else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One throwaway cluster. ``url(db)`` is a SQLAlchemy URL; ``create_database()`` a fresh database."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="shopassist-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._n = 0
        # the server refuses root: run it as nobody, who must own its folder
        self.user = "nobody" if os.geteuid() == 0 else None
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], user=self.user, cwd=self.dir, timeout=timeout,
                              capture_output=True, text=True, check=True)  # fmt: skip

    def start(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-U", ADMIN, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        self._ctl("start")
        return self

    def _ctl(self, action: str) -> None:
        # fsync off: a test cluster is thrown away; listen on loopback and a socket in our own dir only
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
                  "-m", "fast", "-o", opts, action)  # fmt: skip

    def halt(self) -> None:
        """Stop the server (fast: open connections are cut), keeping its data for ``resume``."""
        self._ctl("stop")

    def resume(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """Stop (fast: open connections are cut) and start again on the same port and data."""
        self._ctl("restart")

    def stop(self) -> None:
        try:
            self._ctl("stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://{ADMIN}@127.0.0.1:{self.port}/{db}"

    def create_database(self) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        import psycopg

        self._n += 1
        name = f"t{os.getpid()}_{self._n}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={ADMIN} dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join((self.dir / "server.log").read_text().splitlines()[-n:])
        except OSError:
            return ""
