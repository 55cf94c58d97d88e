"""Every `shopassist` command that used to end in a Python traceback now prints one line saying
what is wrong and how to fix it, with exit code 2 (the user's to fix) or 3 (the operator's).

Each case runs the real CLI in a subprocess (`python -m shopassist.cli`), the way a user meets it:
a traceback there is what these tests rule out, and an in-process call would not show one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "assistant" / "suites" / "shop.yaml"


def shopassist(data_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the CLI with a clean environment (no SHOPASSIST_* of the developer's) on ``data_dir``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHOPASSIST_")}
    base.update({"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"})
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "shopassist.cli", "--data-dir", str(data_dir), *args], cwd=ROOT, env=base,
                          capture_output=True, text=True, timeout=300)


def one_line_error(run: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    """Assert the run failed with ``code`` and exactly one stderr line (log lines aside) naming the fix."""
    assert "Traceback" not in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("shopassist: ")]
    assert run.returncode == code, (run.returncode, run.stderr)
    assert len(errors) == 1, run.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def test_unknown_config_key_is_the_users_to_fix(tmp_path):
    cfg = tmp_path / "shop.toml"
    cfg.write_text("top_k_cards = 5\n")
    run = shopassist(tmp_path / "data", "--config", str(cfg), "search", "kettle")
    one_line_error(run, 2, "unknown key 'top_k_cards'", str(cfg))


def test_bad_config_value_names_the_key_and_the_value(tmp_path):
    cfg = tmp_path / "shop.toml"
    cfg.write_text('llm_threads = "many"\n')
    run = shopassist(tmp_path / "data", "--config", str(cfg), "search", "kettle")
    one_line_error(run, 2, "llm_threads", "'many'")


def test_config_that_is_not_toml(tmp_path):
    cfg = tmp_path / "shop.toml"
    cfg.write_text("llm_threads = = 2\n")
    one_line_error(shopassist(tmp_path / "data", "--config", str(cfg), "search", "kettle"), 2, "not valid TOML")


@pytest.mark.parametrize("command", [["ingest", "demo"], ["search", "kettle"]])
def test_stopped_chroma_server_is_the_operators_to_fix(tmp_path, command):
    port = free_port()  # bound and released: nothing listens there
    run = shopassist(tmp_path / "data", *command, env={"SHOPASSIST_CHROMA": f"127.0.0.1:{port}"})
    one_line_error(run, 3, f"127.0.0.1:{port}", "chroma run")


def test_missing_llm_backend_is_the_operators_to_fix(tmp_path):
    run = shopassist(tmp_path / "data", "eval", "conversations", "--suite", str(SUITE), "--llm", "local",
                     env={"SHOPASSIST_LLM_MODEL": str(tmp_path / "missing.gguf")})
    one_line_error(run, 3, "missing.gguf", "SHOPASSIST_LLM_MODEL")


def test_unknown_ranker_version(tmp_path):
    one_line_error(shopassist(tmp_path / "data", "ranker", "use", "v0999"), 2, "'v0999'", "ranker train")


def test_current_version_that_is_gone(tmp_path):
    """CURRENT names a version whose folder was deleted: said, not silently served by the prior."""
    root = tmp_path / "data" / "models" / "ranker"
    root.mkdir(parents=True)
    (root / "CURRENT").write_text("v0007")
    one_line_error(shopassist(tmp_path / "data", "ranker", "rollback"), 2, "'v0007'", "ranker use")


def test_version_without_its_model_files(tmp_path):
    root = tmp_path / "data" / "models" / "ranker"
    (root / "v0001").mkdir(parents=True)
    (root / "v0001" / "metadata.json").write_text('{"version": "v0001"}')
    (root / "CURRENT").write_text("v0001")
    run = shopassist(tmp_path / "data", "chat", "--llm", "scripted", "-m", "a kettle")
    one_line_error(run, 2, "v0001 has no model", "ranker list")


def test_no_trained_version_to_bench(tmp_path):
    one_line_error(shopassist(tmp_path / "data", "bench", "ranker", "--catalog"), 2, "ranker train")


def test_eval_nextitem_on_a_folder_without_sequences(tmp_path):
    run = shopassist(tmp_path / "data", "ranker", "eval-nextitem", "--dataset", str(tmp_path))
    one_line_error(run, 2, "not a sequential-recommendation folder", str(tmp_path))
