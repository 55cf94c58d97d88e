"""The HTML renderer: catalog and chat text is escaped, only http(s) URLs reach the page."""

from __future__ import annotations

from html.parser import HTMLParser

from ui.render import card_html, esc, fmt_price, message_html, safe_url, table_html, transcript_html

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


class _Tags(HTMLParser):
    """Every start tag and attribute the browser would build from a string."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs


def parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


def test_card_escapes_every_catalog_string():
    card = {
        "product_id": 'p"1',
        "title": HOSTILE,
        "brand": "<b>Evil</b>",
        "why": [HOSTILE],
        "price": 19.99,
        "currency": "USD",
        "image_url": "javascript:alert(3)",
        "stars_predicted": 4.25,
        "average_rating": 4.0,
        "rating_count": 12,
    }
    html = card_html(card, 0, mid=7)
    tags = parse(html)
    assert "script" not in tags.tags and "b" not in tags.tags
    assert "img" not in tags.tags  # the javascript: image is dropped, not linked
    assert not any(name.startswith("on") for name, _ in tags.attrs)
    assert ("data-pid", 'p"1') in tags.attrs  # the quote stays inside the attribute
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "$19.99" in html and "4.2 predicted for you" in html and "12 ratings" in html


def test_chat_text_and_agent_name_are_escaped():
    user = message_html({"role": "user", "text": HOSTILE})
    agent = message_html({"role": "agent", "text": HOSTILE, "meta": {"agent": "<i>sam</i>"}})
    bot = message_html({"id": 3, "role": "assistant", "text": HOSTILE, "cards": [{"product_id": "a", "title": HOSTILE}]})
    for html in (user, agent, bot):
        tags = parse(html)
        assert "script" not in tags.tags and "img" not in tags.tags and "i" not in tags.tags
    assert "a person from our team" in agent and "&lt;i&gt;sam&lt;/i&gt;" in agent


def test_transcript_order_thumbs_and_votes():
    msgs = [
        {"id": 1, "role": "user", "text": "blender"},
        {"id": 2, "role": "assistant", "text": "Try [1].", "cards": [{"product_id": "bl-01", "title": "Blender"}]},
    ]
    html = transcript_html(msgs)
    assert html.index("blender") < html.index("Try [1].")
    assert 'data-action="answer_up" data-mid="2"' in html
    assert html.count('data-testid="card"') == 1
    voted = transcript_html(msgs, voted={"2": "helpful"})
    assert 'data-action="answer_up"' not in voted and "Thanks for the feedback (helpful)" in voted
    assert "Say hi" in transcript_html([], empty="Say hi")


def test_comparison_table_is_escaped_and_replaces_its_text_copy():
    rows = [["", "A<script>", "B"], ["price", "$1.00", "$2.00"]]
    html = message_html({"id": 4, "role": "assistant", "text": "A is cheaper.\n\n| a | b |", "meta": {"table": rows}})
    assert "A is cheaper." in html and "| a | b |" not in html
    assert "script" not in parse(table_html(rows)).tags
    assert table_html([["only header"]]) == ""


def test_small_helpers():
    assert esc(None) == "" and esc("a&b") == "a&amp;b"
    assert fmt_price(1049, "USD") == "$1,049.00" and fmt_price(3, "EUR") == "EUR 3.00"
    assert fmt_price(None) == "price not listed"
    assert safe_url(" https://x.example/i.jpg") == "https://x.example/i.jpg"
    assert safe_url("data:image/png;base64,AAAA") is None and safe_url("JAVASCRIPT:alert(1)") is None
    assert safe_url(None) is None


def test_same_origin_image_paths_pass_and_protocol_relative_ones_do_not():
    assert safe_url("/demo-images/tents.svg") == "/demo-images/tents.svg"
    assert safe_url("//evil.example/x.svg") is None and safe_url("/\\evil.example/x.svg") is None


def test_a_card_whose_image_fails_shows_the_placeholder_not_a_broken_icon():
    from ui.render import CSS, IMG_FALLBACK, PLACEHOLDER

    broken = parse(card_html({"product_id": "a", "title": "t", "image_url": "https://unreachable.invalid/a.jpg"}, 0))
    img = dict(a for a in broken.attrs if a[0] in ("src", "onerror"))
    assert img["src"] == "https://unreachable.invalid/a.jpg"
    # the only handler is ours: on error the frame gets the placeholder class and the <img> goes
    assert img["onerror"] == IMG_FALLBACK and "sa-noimg" in IMG_FALLBACK and "remove()" in IMG_FALLBACK
    missing = parse(card_html({"product_id": "b", "title": "t", "image_url": None}, 0))
    assert "img" not in missing.tags and ("class", "sa-img sa-noimg") in missing.attrs
    assert f'.sa-img.sa-noimg {{background:#f3f4f6 url("{PLACEHOLDER}")' in CSS
    assert PLACEHOLDER.startswith("data:image/svg+xml,") and "script" not in PLACEHOLDER.lower()
