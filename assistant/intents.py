"""What kind of message this is: find, refine, compare, ask, reviews, handoff, chitchat or
out_of_scope; and the cue words each kind is recognised by (English, not catalog data).

Rules first: they are cheap, predictable and testable; ``assistant.understand`` combines them
with the references and the catalog's vocabulary.

Example::

    >>> detect_intent("I want to talk to a human", has_state=False, has_refs=False)
    'handoff'
"""

from __future__ import annotations

import re

from assistant.references import COLOURS

HANDOFF = re.compile(
    r"\b(human|real person|a person|live (agent|chat|person)|an? agent|customer (service|support)|"
    r"representative|talk to (someone|somebody|a person|staff)|speak (to|with) (someone|somebody|a|an|staff)|"
    r"(talk|speak|chat) (to|with) (an? )?(actual|real|live) (person|human|people|agent)|"
    r"(an? )?(actual|real) (person|human|people)|(a|the) manager)\b",
    re.I,
)
# "that's all", "i'm good": the shopper says they are done (``CLOSING``, ``replies.chitchat``)
DONE = r"that'?s all|thats all|that is all|that'?s it|thats it|nothing else|i'?m good|im good"
# "ok thanks thats all", "that's all, thank you", "great, thanks for your help": the shopper is done
CLOSING = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|great|cool|perfect|awesome|nice|alright|brilliant|super|no)\W+)*"
    r"(?:(?:thanks|thank you|thx|ty|cheers)(?:\s+(?:so much|a lot|very much|again))?"
    rf"(?:\W+(?:for (?:your|the) help|for that|{DONE}|all good|bye|goodbye))*"
    rf"|(?:{DONE})"
    r"(?:\W+(?:for now|thanks|thank you|thx|cheers|bye))*)\W*$", re.I)
GREETING = re.compile(
    r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening)|thanks|thank you|thx|cheers|ok(ay)?|bye|goodbye|"
    r"how are you|who are you|what can you do)\b[\s!.?,]*",
    re.I,
)
_OPENER = re.compile(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening)|thanks|thank you|thx|cheers|ok(ay)?)\b(\s+there)?[\s!.?,]*", re.I)


# sounds a shopper thinks aloud with, before what they ask ("hmm, anything under 100?")
_FILLER_OPENER = re.compile(r"^\s*(?:h+m+|u+m+|u+h+|e+r+m*|well|oh|ah)\b[\s,.!?…-]*", re.I)
# "i'm looking for a bluetooth speaker": the request is what follows ("for" would end the kind's words)
# "... u got", "... do you have?", "... you guys sell": asking whether the shop has it, not part of it
_YOU_GOT = re.compile(r"[\s,]+(?:do\s+|have\s+)?(?:you|u|ya|y'?all)(?:\s+guys)?\s+(?:got|have|sell|carry|stock)\s*[?.!]*\s*$", re.I)
_LOOKING_FOR = re.compile(r"^\s*(?:i'?m|i am|we'?re|just)?\s*(?:looking|searching|shopping)\s+(?:around\s+)?for\s+", re.I)


def without_greeting(message: str) -> str:
    """The message without a greeting or "i'm looking for" that opens it, when a request follows
    ("hi, i'm looking for a tent": the tent is searched for); a greeting alone is kept (chitchat).

    >>> without_greeting("hi, i'm looking for a present for my sister"), without_greeting("hello there!")
    ('a present for my sister', 'hello there!')
    >>> without_greeting("looking for a bluetooth speaker for the shower")
    'a bluetooth speaker for the shower'
    >>> without_greeting("hmm, anything under 100?"), without_greeting("hmm, cheaper?")
    ('anything under 100?', 'cheaper?')
    >>> without_greeting("Okay thanks, now a kettle please")
    'now a kettle please'
    >>> without_greeting("whats the cheapest gaming mouse u got"), without_greeting("any tents do you have?")
    ('whats the cheapest gaming mouse', 'any tents?')
    """
    m = message
    while (g := _OPENER.match(m)) and g.end() > 0 and len(m[g.end() :].split()) > 2:
        m = m[g.end() :]
    while (g := _FILLER_OPENER.match(m)) and m[g.end() :].strip():
        m = m[g.end() :]
    if (g := _LOOKING_FOR.match(m)) and m[g.end() :].strip():
        m = m[g.end() :]
    if (g := _YOU_GOT.search(m)) and m[: g.start()].strip():
        m = m[: g.start()] + ("?" if "?" in g.group(0) else "")  # "the cheapest gaming mouse u got": "u" is no kind
    return m


# a message that opens with a filter word adds to the topic on screen ("in red", "under $50");
# a leading "and" only when a filter or "the" follows ("and for running?", "and the screen size?"),
# not a new product ("and a graduated cylinder", "and now guitar picks")
_FILTER_WORDS = r"in|with|without|under|below|over|above|between|only|from|not|no|less|more"
REFINE_OPENER = re.compile(
    rf"^\s*(?:{_FILTER_WORDS}|and(?=\s+(?:{_FILTER_WORDS}|the|its?|for|cheaper|bigger|smaller|lighter|quieter)\b|\s*\$|\s+\d))\b",
    re.I,
)

OFF_TOPIC = re.compile(
    r"\b(weather|forecast|president|election|politic\w*|news|joke|poem|song lyrics|homework|"
    r"capital of|stock price|bitcoin|crypto|football|soccer score|recipe for|translate|"
    r"write (me )?(a |an )?(essay|story|code|program|script)|python code|meaning of life|horoscope)\b",
    re.I,
)
COMPARE = re.compile(r"\b(compare|comparison|versus|vs\.?|difference between|differences|which is better|side by side)\b", re.I)
REVIEWS = re.compile(
    r"\b(reviews?|reviewers?)\b.*\b(say|said|think|mention|summar\w*)\b|"
    r"\bwhat (do|did) (people|customers|buyers|others|users) (say|think)\b|\bsummar(y|ise|ize) (the )?reviews\b|"
    r"\bpros and cons\b",
    re.I,
)
QUESTION = re.compile(
    r"\?\s*$|^\s*(does|do|is|are|can|could|will|would|how|what|which|why|has|have|was|were)\b", re.I
)
CHEAPER = re.compile(r"\b(cheaper|less (expensive|pricey|costly)|lower(-| )?price[ds]?|more affordable|not (as|so) (expensive|pricey)|"
                     r"too (expensive|pricey)|budget)\b", re.I)
PRICIER = re.compile(r"\b(more expensive|pricier|higher end|premium|fancier|better quality)\b", re.I)
NOT_THAT_BRAND = re.compile(
    r"\b(not (that|this) brand|(another|other|different) brands?|no more \w+ brand|a different make)\b", re.I
)
ANOTHER = re.compile(
    r"\b(something else|other options|more options|show me more|anything else|different ones?|something different|"
    r"anything different|(?:some|any) others|more like (?:this|these|that))\b|"
    r"^\W*(?:\w+\s+)?(?:more|next|others|other ones)(?:\s+(?:pls|plz|please|options|ones|of those))?\W*$",
    re.I,
)
ABOUT = re.compile(
    r"\b(tell me (more )?about|more (info|information|details) (on|about)|details (on|of|about)|describe|"
    r"what about|how about|specs (of|for))\b",
    re.I,
)
STOP = set(
    "a an the and or of for to in on with without my me i you it is are be this that one ones some any "
    "show find want need looking look get give buy please can could would like about under over below above "
    "less more than cheaper cheap best good great new which what how does do not no yes".split()
)
_SUPERLATIVE_WORDS = re.compile(
    r"\b(the |your |our )?(cheapest|least expensive|lowest[- ]priced?|most affordable|most expensive|priciest|"
    r"highest[- ]priced?|best[- ]rated|highest[- ]rated|top[- ]rated|best reviewed|costs? the (?:most|least)|most costly)\b|"
    r"\b(you have|do you have|what'?s|what is|show me)\b",
    re.I,
)
FINDISH = re.compile(
    r"\b(show|find|looking for|look for|recommend|suggest|need|want|do you (have|sell|stock|carry)|any \w+s?\b|"
    r"which \w+ (is|are|should)|what \w+ (is|are|should)|best|cheapest|most)\b",
    re.I,
)


# "what do you sell?", "what else have you got apart from tea?", "what kind of stuff do you carry":
# the shop's range, asked without naming a kind of product (``asks_overview`` checks the rest)
_OVERVIEW = re.compile(
    r"^\W*(?:(?:so|ok|okay|and|hmm|well|hi|hey|then)\W+)*what(?:'s| is)?\s+(?:else\s+)?"
    r"(?:(?:kinds?|sorts?|types?)\s+of\s+(?:stuff|things|products|items|gear)\s+|(?:stuff|things|products|items)\s+)?"
    r"(?:do|does|can|could|have|did|d'?you)?\s*(?:you|u|ya|y'all|i|we)?\s*(?:guys\s+|all\s+)?"
    r"(?:sell|have|got|carry|stock|offer|buy|get)\b|^\W*what(?:'s| is) (?:in|on) (?:your|the) (?:shop|store|catalog(?:ue)?)\b",
    re.I)
_OVERVIEW_FILLER = frozenset(
    "else kind kinds sort sorts type types stuff things thing products product items item gear guys all here "
    "there in stock sell have got carry offer buy get you u ya we i do does can could did what whats is the "
    "your shop store catalog catalogue then so ok okay and hmm well hi hey else apart aside besides from "
    "other than except for but not no that that's thats isn't isnt are any also else of a like sorts".split())


def asks_overview(message: str, ruled_out: list[str] = ()) -> bool:
    """Whether the message asks what the shop sells, naming no kind of product (the kinds it rules
    out, ``ruled_out``, aside).

    >>> asks_overview("what do you sell?"), asks_overview("what else have you got apart from tea?", ["tea"])
    (True, True)
    >>> asks_overview("what kettles do you have"), asks_overview("what do you have under $50")
    (False, False)
    >>> asks_overview("what else have you got"), asks_overview("what do you have in black")
    (True, False)
    >>> asks_overview("what kind of stuff do you carry")
    True
    """
    if not _OVERVIEW.search(message):
        return False
    out = {w for r in ruled_out for w in re.findall(r"[a-z]+", r.lower())}
    rest = [w for w in re.findall(r"[a-z0-9$']+", message.lower()) if w not in _OVERVIEW_FILLER and w not in out
            and w.rstrip("s") not in out]
    return not rest


# "add the second one to my cart", "put it in my basket", "i'll take it": the product meant, into the cart
CART = re.compile(
    r"\b(?:add|put|throw|pop|stick|place)\b[^.?!]{0,40}?\b(?:to|in|into)\s+(?:my\s+|the\s+|our\s+)?(?:cart|basket|trolley)\b|"
    r"\b(?:i'?ll|i\s+will|i'?d\s+like\s+to|let\s+me|gonna|going\s+to)\s+(?:take|buy|order|get|grab)\s+"
    r"(?:it|that|this|that\s+one|this\s+one|the\s+\w+\s+one|the\s+(?:first|second|third|fourth|last)\b)", re.I)
# "which one would you recommend?", "what would you suggest", "which should i get": a pick among the cards
RECOMMEND = re.compile(
    r"\b(?:which|what)\b(?:\s+(?:one|of\s+(?:these|those|them|the\s+\w+)))?\s+(?:would|do|should|could|can)\s+"
    r"(?:you|u|i|we)\s+(?:recommend|suggest|pick|choose|go\s+for|get|buy|take|advise)\b|"
    r"\b(?:your|ur)\s+(?:recommendation|top\s+pick|pick|favou?rite|suggestion)\b|"
    r"\bwhich\s+(?:one\s+)?(?:is|'s)\s+(?:the\s+)?(?:best|better)\s*(?:one|pick|choice|buy)?\s*\??$", re.I)


def asks_cart(message: str) -> bool:
    """
    >>> [asks_cart(m) for m in ("ok add the second one to my cart", "i'll take it", "put it in my basket")]
    [True, True, True]
    >>> [asks_cart(m) for m in ("i want to buy a kettle", "a cart for groceries", "does it fit in my bag?")]
    [False, False, False]
    """
    return bool(CART.search(message))


def asks_recommendation(message: str) -> bool:
    """
    >>> [asks_recommendation(m) for m in ("which one would you recommend?", "what would you suggest",
    ...                                   "which should i get", "whats your top pick", "which one is best?")]
    [True, True, True, True, True]
    >>> [asks_recommendation(m) for m in ("which one is best for running?", "recommend a kettle", "which is lighter",
    ...                                   "what would you recommend for a beginner")]
    [False, False, False, False]
    """
    m = RECOMMEND.search(message)
    rest = re.findall(r"[a-z']+", message[m.end():].lower()) if m else []
    return bool(m) and all(w in _AMONG_WORDS for w in rest)


_AMONG_WORDS = frozenset("then of these those them out here one ones please to me us among between the two three "
                         "four all i you should get buy".split())


# "a cheap laptop", "nothing too expensive", "an affordable monitor": price matters, no figure given
THRIFTY = re.compile(
    r"\b(?:cheap(?:ish)?|inexpensive|affordable|low[- ]cost|budget[- ]friendly|reasonably priced|on a budget|"
    r"(?:not|nothing|isn'?t|is not|aren'?t|are not|wasn'?t|won'?t be) (?:too |that |very |so |super |crazy |overly )?"
    r"(?:expensive|pricey|costly|dear)|won'?t break the bank)\b", re.I)


def thrifty(message: str) -> bool:
    """Whether the shopper says price matters without naming a figure.

    >>> [thrifty(m) for m in ("a cheap laptop", "a printer that isn't too expensive", "nothing too pricey", "an affordable monitor")]
    [True, True, True, True]
    >>> [thrifty(m) for m in ("cheaper?", "the cheapest laptop", "laptop under $500", "expensive but good")]
    [False, False, False, False]
    """
    return bool(THRIFTY.search(message))


def detect_intent(message: str, has_state: bool, has_refs: bool) -> str:
    """Classify one message; rules first (they are cheap and predictable).

    >>> detect_intent("compare the first two", True, True)
    'compare'
    >>> detect_intent("what's the weather in Paris?", False, False)
    'out_of_scope'
    >>> detect_intent("cheaper", True, False)
    'refine'
    >>> detect_intent("and under $50", True, False), detect_intent("and now guitar picks", True, False)
    ('refine', 'find')
    >>> detect_intent("and a graduated cylinder", True, False), detect_intent("and for running?", True, False)
    ('find', 'refine')
    >>> detect_intent("ok thanks thats all", True, False), detect_intent("that's all, thank you!", True, False)
    ('chitchat', 'chitchat')
    >>> detect_intent("can i talk to an actual person", True, False), detect_intent("thanks, any cheaper ones?", True, False)
    ('handoff', 'refine')
    """
    m = message.strip()
    if HANDOFF.search(m):
        return "handoff"
    if OFF_TOPIC.search(m):
        return "out_of_scope"
    g = GREETING.match(m)
    if g and len(m[g.end() :].split()) <= 2 or CLOSING.match(m):
        return "chitchat"
    if COMPARE.search(m) and (has_refs or has_state):
        return "compare"
    if REVIEWS.search(m):
        return "reviews"
    if has_refs and (QUESTION.search(m) or ABOUT.search(m)):
        return "ask"
    if has_state and (
        CHEAPER.search(m)
        or PRICIER.search(m)
        or NOT_THAT_BRAND.search(m)
        or ANOTHER.search(m)
        or _colour_words(m)
        or REFINE_OPENER.match(m)
    ):
        return "refine"
    return "find"


def _colour_words(text: str) -> list[str]:
    words = re.findall(r"[a-z]+", text.lower())
    out = ["grey" if w == "gray" else w for w in words if w in COLOURS]
    return list(dict.fromkeys(out))


def is_superlative(message: str) -> str | None:
    """The whole-catalog sort a superlative asks for, if any.

    >>> is_superlative("what's your most expensive blender")
    'price_desc'
    """
    low = message.lower()
    if re.search(r"\b(cheapest|least expensive|lowest price[d]?|most affordable|costs? the least)\b", low):
        return "price_asc"
    if re.search(r"\b(most expensive|priciest|highest price[d]?|dearest|costs? the most|most costly)\b", low):
        return "price_desc"
    if re.search(r"\b(best|highest|top)[- ]rated\b|\bbest reviewed\b", low):
        return "rating_desc"
    return None


def _content_words(message: str) -> list[str]:
    """Words left once superlatives, question words and stop words are removed."""
    rest = _SUPERLATIVE_WORDS.sub(" ", message.lower())
    words = re.findall(r"[a-z]+", rest)
    filler = STOP | {"which", "one", "ones", "is", "are", "there", "here", "those", "these", "them", "of", "all", "among"}
    return [w for w in words if w not in filler]
