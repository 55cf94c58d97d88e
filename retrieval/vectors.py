"""One small vector-store protocol, two implementations: Chroma embedded and Chroma server.

Chosen by ``settings.chroma``: ``"embedded"`` opens a ``PersistentClient`` under
``settings.vectors_dir``; ``"host:port"`` connects an ``HttpClient`` to a ``chroma run``
server. Both register in ``VECTOR_STORES`` like any other backend would.

Vectors are stored normalised (cosine space), keyed by product id; no metadata is kept in
Chroma: every structured filter runs in SQLite (``retrieval.store``) first.

A server that stops answering (killed, restarted, stalled past ``settings.chroma_timeout_s``)
raises ``VectorStoreDown`` from any call, never a transport error of chromadb's own; the
search falls back to BM25 on it (``retrieval.search``), and the next call after the server is
back simply works: the HTTP client opens a new connection per failed one.

Example::

    >>> import tempfile
    >>> from shopassist.settings import Settings
    >>> vs = open_vectors(Settings(data_dir=tempfile.mkdtemp()))
    >>> vs.upsert(["a"], [[1.0, 0.0]]); vs.count()
    1
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np

from shopassist.errors import OperatorError
from shopassist.settings import Settings


class VectorStoreDown(OperatorError, RuntimeError):
    """The configured vector store cannot be reached: the operator's to fix (start `chroma run`)."""


class VectorStore(Protocol):
    def upsert(self, ids: Sequence[str], embeddings) -> None: ...
    def delete(self, ids: Sequence[str]) -> None: ...
    def query(self, embedding, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest ids with cosine similarity (higher = closer)."""
        ...
    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...
    def ids(self) -> Iterator[str]: ...
    def count(self) -> int: ...


class ChromaVectors:
    """A Chroma collection (embedded or server): cosine HNSW, ids only, no metadata."""

    PAGE = 5000  # ids/embeddings fetched per get() call: bounded memory on big catalogs

    def __init__(self, client, name: str, where: str = "embedded"):
        self.client = client
        self.where = where  # "embedded" or the server's host:port, for the messages
        self.collection = self._guarded(client.get_or_create_collection, name, metadata={"hnsw:space": "cosine"})

    def _guarded(self, call, *args, **kwargs):
        """``call`` with the server's transport failures turned into ``VectorStoreDown``."""
        import httpx

        try:
            return call(*args, **kwargs)
        except httpx.TransportError as e:  # refused, reset, timed out: the server, not the request
            raise VectorStoreDown(
                f"the Chroma server at {self.where} stopped answering ({e.__class__.__name__}); "
                f"product search uses BM25 alone until it is back (`chroma run --path DIR --port ...`)"
            ) from e

    def upsert(self, ids: Sequence[str], embeddings) -> None:
        if len(ids):
            self._guarded(self.collection.upsert, ids=list(ids), embeddings=np.asarray(embeddings, dtype=np.float32))

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), self.PAGE):
            self._guarded(self.collection.delete, ids=ids[i : i + self.PAGE])

    def query(self, embedding, k: int) -> list[tuple[str, float]]:
        n = self.count()
        if n == 0 or k <= 0:
            return []
        res = self._guarded(self.collection.query, query_embeddings=np.asarray([embedding], dtype=np.float32),
                            n_results=min(k, n), include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0])]

    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        ids = list(ids)
        for i in range(0, len(ids), self.PAGE):
            res = self._guarded(self.collection.get, ids=ids[i : i + self.PAGE], include=["embeddings"])
            out.update(zip(res["ids"], np.asarray(res["embeddings"], dtype=np.float32)))
        return out

    def ids(self) -> Iterator[str]:
        offset = 0
        while True:
            res = self._guarded(self.collection.get, include=[], limit=self.PAGE, offset=offset)
            if not res["ids"]:
                return
            yield from res["ids"]
            offset += len(res["ids"])

    def count(self) -> int:
        return self._guarded(self.collection.count)


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def embedded_chroma(settings: Settings) -> ChromaVectors:
    import chromadb

    settings.vectors_dir.mkdir(parents=True, exist_ok=True)
    client = chromadb.PersistentClient(path=str(settings.vectors_dir), settings=_chroma_settings())
    return ChromaVectors(client, settings.collection)


def server_chroma(settings: Settings) -> ChromaVectors:
    import chromadb

    host, _, port = settings.chroma.rpartition(":")
    try:
        client = chromadb.HttpClient(host=host, port=int(port), settings=_chroma_settings())
        _set_timeout(client, settings.chroma_timeout_s)
        client.heartbeat()
    except Exception as e:  # chromadb raises several transport errors; all mean "server not reachable"
        raise VectorStoreDown(
            f"cannot reach the Chroma server at {settings.chroma} ({e.__class__.__name__}); "
            f"start it with `chroma run --path DIR --port {port}` or set SHOPASSIST_CHROMA=embedded"
        ) from e
    return ChromaVectors(client, settings.collection, where=settings.chroma)


def _set_timeout(client, seconds: float) -> None:
    """Bound every request to the server: chromadb 1.5 builds its httpx client with
    ``timeout=None``, so a stalled server (SIGSTOP, a hung host) would hold a turn forever."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds)


# the registry: settings.chroma == "embedded" picks the first, anything else ("host:port") the second
VECTOR_STORES: dict[str, Callable[[Settings], VectorStore]] = {
    "embedded": embedded_chroma,
    "server": server_chroma,
}


def open_vectors(settings: Settings) -> VectorStore:
    """The vector store named by ``settings.chroma``."""
    return VECTOR_STORES["server" if settings.chroma_is_remote else "embedded"](settings)
