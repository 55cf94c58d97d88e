"""How often the assistant says "None of the <category> mention “<word>”", and on what: every
message of a conversation suite (first 80) plus 12 everyday requests with a use or feature in
them, each as the first turn of a fresh conversation, on a demo data dir (scripted LLM, so the
sentence is the deterministic one). Prints each remark, the alternative card if any, and the count.

Produced the "Words no shown product mentions" record in BENCHMARKS.md ("Assistant benchmarks").
Command (from the repo root; DIR = a data dir with the demo catalog, e.g. `make demo DATA=DIR`):

    .venv/bin/python benchmarks/studies/unmatched_words.py --data-dir DIR tests/assistant/suites/demo.yaml
"""
from __future__ import annotations

import argparse

import yaml
from _common import repo_on_path

EVERYDAY = ["I need headphones for the gym", "running shoes for flat feet", "a tent for heavy rain", "a backpack for my laptop",
            "coffee beans for espresso", "a yoga mat that doesn't slip", "a lamp for reading in bed",
            "noise cancelling headphones for flights", "a kettle that keeps water warm", "a speaker for the shower",
            "a sleeping bag for winter camping", "a keyboard for programming", "a quiet office chair"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("suites", nargs="+")
    args = ap.parse_args()
    repo_on_path()
    from assistant.chat import Assistant, Turn
    from assistant.events import Answer, Cards
    from shopassist.settings import Settings

    a = Assistant.from_settings(Settings(data_dir=args.data_dir, llm_backend="scripted"))
    says = [t["say"] for f in args.suites for conv in yaml.safe_load(open(f))["conversations"]
            for t in conv.get("turns", []) if isinstance(t, dict) and t.get("say")]
    fired = n = 0
    for msg in dict.fromkeys(says[:80] + EVERYDAY):
        events = list(a.respond(Turn(a.start(None), None, msg)))
        cards = [c for e in events if isinstance(e, Cards) for c in e.cards]
        text = next((e.text for e in events if isinstance(e, Answer)), "")
        if not cards:
            continue
        n += 1
        if text.lower().startswith("none of"):
            fired += 1
            alt = [c.title for c in cards if any(w.startswith("matches ") and ", not " in w for w in c.why)]
            print(f"{msg!r}: {text.split('. ')[0]}.  alternative: {alt or '-'}")
    print(f"remarks: {fired} of {n} first turns with cards")


if __name__ == "__main__":
    main()
