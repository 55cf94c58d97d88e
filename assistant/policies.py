"""The shop's own policies (shipping, returns, warranty, payment, hours, contact), answered by quoting them.

A shop keeps its policies in one Markdown (or YAML) file: ``shopassist ingest`` copies the
``policies.md`` found beside the catalog (or given with ``--policies``) into the data dir
(``install``). Each ``##`` section is one policy; each paragraph or bullet under it is one
passage. A question is matched to the passages by MiniLM similarity plus shared words, and the
best one is quoted with its section ("From our shipping policy: …"). Nothing else is said:
when no passage answers, the shopper is told so and offered a person.

A message is a policy question (``route``) when it reads like one (a passage scores above
``POLICY_MIN``, or it uses a shop-policy word such as "refund") and names no product
category or brand of the catalog: "do you ship to Canada?" is, "a kettle that ships fast" is not.

Example::

    >>> [p.section for p in parse_markdown("## Shipping\\nWe ship to Canada.\\n\\n- Free over $50.")]
    ['Shipping', 'Shipping']
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.answers import clean, question_terms
from retrieval.bm25 import tokenize

if TYPE_CHECKING:
    from collections.abc import Iterator

    from assistant.chat import Assistant
    from assistant.events import Event
    from assistant.turn import TurnContext

NAMES = ("policies.md", "policies.yaml", "policies.yml")
# MiniLM cosine + word share above which a passage answers the question; measured on the demo
# policies: "do you ship to Canada?" -> the Canada passage 0.86, "what is your return policy?" ->
# 0.78, while product requests ("a quiet blender") score at most 0.31 against any passage
POLICY_MIN = 0.5
# with ``strict`` (a question about one product, "does it come with a warranty?"), a passage must
# score this much: the product's own data was asked first and said nothing
POLICY_STRICT_MIN = 0.6
# a second passage of the same section is quoted too when it scores this close to the best
SECOND_WITHIN = 0.08
WORD_WEIGHT = 0.4
# general shop vocabulary (not any catalog's): these words make a message a policy question even
# when the shop has no policies file, so it is answered honestly instead of searched for
TOPIC = re.compile(
    r"\b(ship|ships|shipping|deliver|delivery|deliveries|postage|return|returns|refund|refunds|exchange|warranty|"
    r"send (?:it|them|this|that) back|take (?:it|them) back|money back|"
    r"guarantee|payment|pay with|pay by|paypal|klarna|instal?ments?|credit card|opening hours|open on|are you open|"
    r"customer service|contact you|phone number|email address|gift cards?|discount code|vouchers?|customs|duties)\b",
    re.I,
)
# the part of TOPIC only the shop's policies answer (a warranty may be on a product's spec sheet too)
SHOP_ONLY = re.compile(r"\b(?:return|returns|refunds?|exchange|send (?:it|them|this|that) back|take (?:it|them) back|money back|"
                       r"ship|ships|shipping|deliver|delivery|postage|"
                       r"payment|pay with|pay by|paypal|klarna|customs|duties)\b", re.I)
NO_POLICY_TEXT = "Our shop's policies don't cover that, so I can't say for sure. Would you like me to ask a member of our team?"
OFFER_PERSON = "Would you like me to ask a member of our team?"


@dataclass(slots=True, frozen=True)
class Passage:
    section: str
    text: str


class PolicyError(ValueError):
    """The policies file is unreadable or empty: the shop's file to fix."""


def parse_markdown(text: str) -> list[Passage]:
    """Passages of a Markdown policies file: ``##`` (or ``#`` when there is no ``##``) headings
    are sections, paragraphs and bullets under them are passages; text before the first section
    is an introduction and is skipped."""
    level = "## " if re.search(r"^## ", text, re.M) else "# "
    out, section, para = [], None, []

    def flush():
        if section and para:
            body = clean(" ".join(para), 600)
            if body:
                out.append(Passage(section, body))
        para.clear()

    for line in text.splitlines():
        s = line.strip()
        if s.startswith(level):
            flush()
            section = clean(s[len(level):].strip(" #"), 60)
        elif s.startswith("#"):
            flush()
        elif not s:
            flush()
        elif re.match(r"^([-*+]|\d+[.)])\s+", s):
            flush()
            para.append(re.sub(r"^([-*+]|\d+[.)])\s+", "", s))
        else:
            para.append(s)
    flush()
    return out


def parse_yaml(text: str) -> list[Passage]:
    """Passages of a YAML policies file: ``{section: text or [texts]}``."""
    import yaml

    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise PolicyError("a YAML policies file must map each section name to its text or a list of texts")
    out = []
    for section, body in data.items():
        for item in body if isinstance(body, list) else [body]:
            if isinstance(item, str) and clean(item):
                out.append(Passage(clean(str(section), 60), clean(item, 600)))
    return out


def load(path: Path) -> list[Passage]:
    """The passages of a policies file; PolicyError when it has none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"cannot read the policies file {path}: {e}") from e
    passages = parse_yaml(text) if path.suffix in (".yaml", ".yml") else parse_markdown(text)
    if not passages:
        raise PolicyError(f"{path} has no policy passages: give each policy a '## Section' heading and text under it")
    return passages


def beside(source: Path) -> Path | None:
    """The policies file in the catalog source's folder (or the source folder itself), if any."""
    folder = source if source.is_dir() else source.parent
    return next((folder / n for n in NAMES if (folder / n).is_file()), None)


def install(data_dir: Path, source: Path) -> int:
    """Copy a policies file into the data dir (checked first, so a bad file replaces nothing);
    returns the number of passages. The other format's old copy is removed."""
    n = len(load(source))
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / ("policies.yaml" if source.suffix in (".yaml", ".yml") else "policies.md")
    for name in NAMES:
        if (data_dir / name) != target:
            (data_dir / name).unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return n


@dataclass
class PolicyIndex:
    """The shop's passages with their MiniLM vectors (built once per file version)."""

    passages: list[Passage]
    vectors: object = None
    stamp: tuple = field(default_factory=tuple)

    def search(self, question: str, embed) -> list[tuple[float, Passage]]:
        """Passages scored against the question, best first: cosine + ``WORD_WEIGHT`` × the share
        of the question's content words the passage (or its section name) contains."""
        if not self.passages:
            return []
        if self.vectors is None:
            self.vectors = embed([f"{p.section}: {p.text}" for p in self.passages])
        q = embed([question])[0]
        sims = self.vectors @ q
        terms = set(tokenize(" ".join(question_terms(question))))
        out = []
        for p, sim in zip(self.passages, sims, strict=True):
            words = set(tokenize(f"{p.section} {p.text}"))
            share = len(terms & words) / len(terms) if terms else 0.0
            out.append((float(sim) + WORD_WEIGHT * share, p))
        out.sort(key=lambda x: -x[0])
        return out


_INDEXES: dict[str, PolicyIndex] = {}


def index_for(data_dir: Path) -> PolicyIndex | None:
    """The policy index of the shop in ``data_dir``; None when it has no policies file."""
    path = next((data_dir / n for n in NAMES if (data_dir / n).is_file()), None)
    if path is None:
        return None
    stamp = (str(path), path.stat().st_mtime_ns)
    got = _INDEXES.get(str(data_dir))
    if got is None or got.stamp != stamp:
        got = _INDEXES[str(data_dir)] = PolicyIndex(load(path), stamp=stamp)
    return got


def answer_text(question: str, index: PolicyIndex | None, embed, strict: bool = False) -> str | None:
    """ "From our shipping policy: …" quoting the best passage (and a close second of the same
    section); None when no passage scores above the threshold."""
    if index is None:
        return None
    ranked = index.search(question, embed)
    if not ranked or ranked[0][0] < (POLICY_STRICT_MIN if strict else POLICY_MIN):
        return None
    best_score, best = ranked[0]
    quoted = [best.text]
    # a section's first passage states its main rule ("30 days for a full refund"): it goes first
    # when it answers too, before the detail that matched best ("a faulty item ...")
    lead = next(p for p in index.passages if p.section == best.section)
    lead_score = next(sc for sc, p in ranked if p is lead)
    if lead is not best and lead_score >= POLICY_MIN:
        quoted.insert(0, lead.text)
    else:
        quoted += [p.text for sc, p in ranked[1:2] if p.section == best.section and best_score - sc <= SECOND_WITHIN]
    name = best.section.lower()
    name = name if "polic" in name else f"{name} policy"
    return f"From our {name}: " + " ".join(quoted)


def answer_for(a: Assistant, question: str, strict: bool = False) -> str | None:
    """``answer_text`` over the assistant's shop (its data dir and MiniLM)."""
    from assistant.evidence import cached

    return answer_text(question, index_for(a.settings.data_dir), cached(a.embed, a.settings.embedding_model), strict)


def is_policy_question(a: Assistant, message: str) -> bool:
    """A question about the shop rather than its products: it names no catalog category or brand,
    and it uses a shop-policy word or a policy passage scores above ``POLICY_MIN``."""
    q = a.catalog.parse(message)
    if q.categories or q.brands:
        return False
    if TOPIC.search(message):
        return True
    index = index_for(a.settings.data_dir)
    ranked = index.search(message, a.embed) if index else []
    return bool(ranked) and ranked[0][0] >= POLICY_MIN


# words that point a question at a product on screen ("does *it* come with a warranty?")
_POINTS = re.compile(r"\b(it|its|they|them|this|that|these|those|ones?|first|second|third|last)\b", re.I)


def route(a: Assistant, ctx: TurnContext):
    """The reply for a policy question (hooked in before product search), else None. A question
    that points at a shown product stays a product question (its answer falls back to the policies)."""
    intent, message = ctx.understood.intent, ctx.message
    if intent not in ("find", "refine", "ask") or (intent == "ask" and _POINTS.search(message)):
        return None
    return reply if is_policy_question(a, message) else None


def reply(a: Assistant, ctx: TurnContext) -> Iterator[Event]:
    """Quote the policy, or say none answers and offer a person; the search state is unchanged."""
    u = ctx.understood
    u.intent, u.changes = "policy", []
    u.state = a.state(ctx.cid)  # a policy question is no new search: the cards on screen stay referable
    text = answer_for(a, ctx.message) or NO_POLICY_TEXT
    yield a.finish(ctx, text)
