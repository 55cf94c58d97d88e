"""The conversation suite: format errors, every gate on the test shop, the CLI contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.suite import GATES, SuiteError, load_suite
from shopassist.cli import main

SUITES = Path(__file__).parent / "suites"


def test_bad_suite_files_say_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("conversations:\n  - id: x\n    turns:\n      - say: hi\n        expect: {colour_of_sky: blue}\n")
    with pytest.raises(SuiteError, match="unknown checks"):
        load_suite(bad)
    with pytest.raises(SuiteError, match="not found"):
        load_suite(tmp_path / "missing.yaml")


def test_every_suite_file_loads_with_enough_conversations():
    suites = [load_suite(p) for p in sorted(SUITES.glob("*.yaml"))]
    assert sum(len(s.conversations) for s in suites) >= 40


def test_shop_suite_passes_every_gate_with_the_scripted_backend(capsys):
    assert main(["eval", "conversations", "--suite", str(SUITES / "shop.yaml"), "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last)
    assert set(report) == {"conversations", "gates", "pass_rate"}
    assert report["conversations"] >= 30
    for gate in ("superlatives", "price_range", "cheaper", "no_invented_facts", "references",
                 "deleted_never_shown", "injection_ignored", "handoff"):  # fmt: skip
        assert report["gates"][gate]["total"] > 0, gate
    assert set(report["gates"]) <= set(GATES)
    failed = {g: v for g, v in report["gates"].items() if v["passed"] != v["total"]}
    assert not failed and report["pass_rate"] == 1.0


@pytest.mark.slow
def test_demo_and_icecat_suites_pass_with_the_scripted_backend(capsys):
    pytest.importorskip("retrieval.demo")
    from tests.conftest import dataset

    dataset("chorus_icecat_product_search_judgments_135q")
    argv = ["eval", "conversations", "--suite", str(SUITES / "demo.yaml"), "--suite", str(SUITES / "icecat.yaml"), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["conversations"] >= 30
    assert report["gates"]["injection_ignored"]["passed"] == report["gates"]["injection_ignored"]["total"] > 0
    assert report["gates"]["deleted_never_shown"]["passed"] == report["gates"]["deleted_never_shown"]["total"] > 0
    assert report["pass_rate"] >= 0.95


def test_template_answers_alone_pass_every_gate(settings):
    """When the LLM's text misses the turn's deadline every answer is the template: it must pass
    every gate on its own (a model that never finishes a sentence forces it here)."""
    from assistant.chat import Assistant
    from assistant.llm import ScriptedLLM
    from assistant.store import ConversationStore
    from assistant.suite import build_catalog, run_suite
    from ranker.serve import load_ranker

    suite = load_suite(SUITES / "shop.yaml")
    s = settings.model_copy(update={"llm_backend": "scripted"})
    s.data_dir.mkdir(parents=True, exist_ok=True)
    a = Assistant(s, build_catalog(suite, s), load_ranker(s), ScriptedLLM(replies=["The first one"]),
                  ConversationStore(s.events_db_url))  # fmt: skip
    report = run_suite(suite, a)
    assert set(report["answer_sources"]) == {"template"}
    assert report["pass_rate"] == 1.0, report["failures"]
