"""HTML for the chat transcript and product cards: every catalog and chat string escaped.

Catalog text (titles, brands, reasons) and chat text are untrusted, so nothing here
interpolates a string without ``html.escape``; image URLs are used only when they are
``http(s)``. Clickable parts carry ``data-action`` (and ``data-pid`` / ``data-mid``)
attributes that one delegated listener in the page turns into Gradio events.

Example::

    >>> "<script>" in card_html({"product_id": "p1", "title": "<script>x</script>"}, 0)
    False
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth")

# One delegated listener: a click on any [data-action] inside the transcript becomes a
# Gradio "click" event carrying the action, product id, message id and card position.
TRANSCRIPT_JS = """
element.addEventListener('click', (e) => {
  const b = e.target.closest('[data-action]');
  if (!b || !element.contains(b)) return;
  e.preventDefault();
  trigger('click', {action: b.dataset.action, pid: b.dataset.pid || '', mid: b.dataset.mid || '',
                    pos: b.dataset.pos || ''});
});
"""

# A grey picture frame drawn by us, inlined so it shows even when every image host is unreachable;
# a card whose image fails to load swaps to it (IMG_FALLBACK) instead of a broken-image icon.
PLACEHOLDER_SVG = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 48 48' fill='none' stroke='%239ca3af' stroke-width='3' "
    "stroke-linejoin='round'><rect x='5' y='9' width='38' height='30' rx='4'/><circle cx='17' cy='19' r='4'/>"
    "<path d='M7 35 L19 25 L27 31 L33 26 L41 33'/></svg>"
)
PLACEHOLDER = "data:image/svg+xml," + PLACEHOLDER_SVG.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
IMG_FALLBACK = "this.parentNode.classList.add('sa-noimg');this.remove()"

CSS = """
.sa-chat {display:flex; flex-direction:column; gap:10px; padding:4px 2px; font-size:15px; line-height:1.45}
.sa-msg {max-width:100%; padding:8px 12px; border-radius:12px; overflow-wrap:anywhere}
.sa-user {align-self:flex-end; background:#2563eb; color:#fff; max-width:85%; white-space:pre-wrap}
.sa-bot {align-self:stretch; background:var(--background-fill-secondary, #f3f4f6)}
.sa-agent {align-self:flex-start; background:#fef3c7; border:1px solid #f59e0b; max-width:90%; white-space:pre-wrap}
.sa-who {font-size:12px; font-weight:600; color:#92400e; margin-bottom:2px}
.sa-notice {align-self:center; font-size:13px; color:#555; background:#eef2ff; padding:6px 10px; border-radius:8px}
.sa-notice.sa-retry, .sa-notice.sa-error {background:#fee2e2; color:#7f1d1d}
.sa-text {white-space:pre-wrap; margin-top:6px}
.sa-cards {display:grid; grid-template-columns:repeat(auto-fill, minmax(170px, 1fr)); gap:8px}
.sa-card {background:var(--background-fill-primary, #fff); border:1px solid #e5e7eb; border-radius:10px; padding:8px;
          display:flex; flex-direction:column; gap:3px; min-width:0}
.sa-img {width:100%; height:110px; border-radius:6px; background:#e5e7eb center/contain no-repeat; display:block; cursor:pointer}
.sa-img img {width:100%; height:110px; object-fit:contain; border-radius:6px}
.sa-title {font-weight:600; font-size:14px; cursor:pointer; overflow-wrap:anywhere}
.sa-title:hover {text-decoration:underline}
.sa-brand {font-size:12px; color:#666}
.sa-price {font-weight:700}
.sa-stars {font-size:13px; color:#b45309}
.sa-why {font-size:12px; color:#444}
.sa-actions {display:flex; flex-wrap:wrap; gap:4px; margin-top:auto; padding-top:4px}
.sa-actions button, .sa-thumbs button {font-size:12px; padding:2px 6px; line-height:1.3; border-radius:6px; border:1px solid #d1d5db;
          background:#fff; color:#111; cursor:pointer}
.sa-actions button:hover, .sa-thumbs button:hover {background:#e0e7ff}
.sa-actions button.sa-cart {background:#16a34a; color:#fff; border-color:#16a34a}
.sa-thumbs {display:flex; gap:6px; margin-top:6px}
.sa-thumbs .sa-done {font-size:12px; color:#15803d}
.sa-table {border-collapse:collapse; margin-top:6px; font-size:13px; width:100%}
.sa-table td, .sa-table th {border:1px solid #d1d5db; padding:3px 6px; text-align:left; vertical-align:top}
.sa-typing {color:#666; font-style:italic}
/* the agent console shows the shopper's cards small and without the shopper's buttons */
#agent-transcript .sa-actions, #agent-transcript .sa-thumbs {display:none}
#agent-transcript .sa-cards {grid-template-columns:repeat(auto-fill, minmax(140px, 1fr))}
#agent-transcript .sa-img, #agent-transcript .sa-img img {height:60px}
@media (max-width: 600px) {
  .sa-cards {grid-template-columns:repeat(2, minmax(0, 1fr)); gap:6px}
  .sa-img, .sa-img img {height:72px}
  .sa-msg {padding:6px 8px}
  .sa-card {padding:6px}
  .sa-actions {gap:3px}
  .sa-actions button, .sa-thumbs button {font-size:11px; padding:1px 5px}
  .sa-stars, .sa-why {font-size:11px}
}
"""
CSS += f'.sa-img.sa-noimg {{background:#f3f4f6 url("{PLACEHOLDER}") center/56px no-repeat}}\n'


def esc(text) -> str:
    """Escape any value for HTML text or a quoted attribute.

    >>> esc('<b a="1">')
    '&lt;b a=&quot;1&quot;&gt;'
    """
    return html.escape("" if text is None else str(text), quote=True)


def md_code(text, limit: int = 120) -> str:
    """Untrusted text for a ``gr.Markdown`` line, as an inline code span: Markdown, HTML and
    bare URLs inside it stay text (Gradio's Markdown links bare URLs and keeps HTML, and
    backslash escapes did not stop either). The fence is one backtick longer than any run inside.

    >>> md_code("[pwn](https://evil.example) <img src=x>")
    '` [pwn](https://evil.example) <img src=x> `'
    >>> md_code("a`b")
    '`` a`b ``'
    """
    text = " ".join(str(text if text is not None else "").split())[:limit]
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def fmt_price(price, currency: str | None = "USD") -> str:
    """A price as a card shows it.

    >>> fmt_price(49, "USD"), fmt_price(5.5, "EUR"), fmt_price(None)
    ('$49.00', 'EUR 5.50', 'price not listed')
    """
    if price is None:
        return "price not listed"
    if (currency or "USD").upper() == "USD":
        return f"${price:,.2f}"
    return f"{currency} {price:,.2f}"


def safe_url(url) -> str | None:
    """Only http(s) URLs and same-origin paths (``/demo-images/x.svg``) reach an ``src``/``href``
    (no ``javascript:``, ``data:`` or protocol-relative ``//host``)."""
    if not url or not isinstance(url, str):
        return None
    u = url.strip()
    if u.startswith("/") and not u.startswith(("//", "/\\")):
        return u
    return u if u.lower().startswith(("http://", "https://")) else None


def stars_line(card: dict) -> str:
    parts = []
    if card.get("stars_predicted") is not None:
        parts.append(f"★ {card['stars_predicted']:.1f} predicted for you")
    if card.get("average_rating") is not None:
        n = card.get("rating_count") or 0
        parts.append(f"{card['average_rating']:.1f} avg ({n} rating{'s' if n != 1 else ''})")
    return " · ".join(parts)


def card_html(card: dict, pos: int, mid: int | str = "") -> str:
    """One product card; ``pos`` is its 0-based position in the answer (for "compare")."""
    pid = esc(card.get("product_id"))
    attrs = f'data-pid="{pid}" data-mid="{esc(mid)}" data-pos="{pos}"'
    img = safe_url(card.get("image_url"))
    image = (
        f'<div class="sa-img" data-action="click" {attrs}><img src="{esc(img)}" alt="" loading="lazy" '
        f'referrerpolicy="no-referrer" onerror="{IMG_FALLBACK}"></div>'
        if img
        else f'<div class="sa-img sa-noimg" data-action="click" {attrs} aria-hidden="true"></div>'
    )
    why = card.get("why") or []
    if isinstance(why, str):
        why = [why]
    brand = f'<div class="sa-brand">{esc(card["brand"])}</div>' if card.get("brand") else ""
    return (
        f'<div class="sa-card" data-testid="card" data-pid="{pid}">'
        f"{image}"
        f'<div class="sa-title" data-action="click" {attrs}>{esc(card.get("title"))}</div>'
        f"{brand}"
        f'<div class="sa-price">{esc(fmt_price(card.get("price"), card.get("currency")))}</div>'
        f'<div class="sa-stars">{esc(stars_line(card))}</div>'
        f'<div class="sa-why">{esc(why[0]) if why else ""}</div>'
        f'<div class="sa-actions">'
        f'<button data-action="more_like_this" {attrs}>More like this</button>'
        f'<button data-action="compare" {attrs}>Compare</button>'
        f'<button class="sa-cart" data-action="add_to_cart" {attrs}>Add to cart</button>'
        f'<button data-action="thumb_up" {attrs} title="Good suggestion" aria-label="thumbs up">Like</button>'
        f'<button data-action="thumb_down" {attrs} title="Not for me" aria-label="thumbs down">Not for me</button>'
        f"</div></div>"
    )


def cards_html(cards: Iterable[dict], mid: int | str = "") -> str:
    cards = list(cards or [])
    if not cards:
        return ""
    return '<div class="sa-cards">' + "".join(card_html(c, i, mid) for i, c in enumerate(cards)) + "</div>"


def table_html(rows: list[list[str]] | None) -> str:
    if not rows or len(rows) < 2:
        return ""
    head = "".join(f"<th>{esc(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
    return f'<table class="sa-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def thumbs_html(mid, voted: str | None = None) -> str:
    if voted:
        return f'<div class="sa-thumbs"><span class="sa-done">Thanks for the feedback ({esc(voted)})</span></div>'
    return (
        f'<div class="sa-thumbs"><button data-action="answer_up" data-mid="{esc(mid)}" aria-label="answer helpful">Helpful</button>'
        f'<button data-action="answer_down" data-mid="{esc(mid)}" aria-label="answer not helpful">Not helpful</button></div>'
    )


def message_html(msg: dict, voted: dict | None = None) -> str:
    """One message: ``{"id", "role", "text", "cards", "meta"}`` as stored (or in flight)."""
    role, text = msg.get("role"), msg.get("text") or ""
    mid = msg.get("id", "")
    meta = msg.get("meta") or {}
    if role == "user":
        return f'<div class="sa-msg sa-user" data-testid="user-msg">{esc(text)}</div>'
    if role == "agent":
        who = meta.get("agent") or "our team"
        return (
            f'<div class="sa-msg sa-agent" data-testid="agent-msg"><div class="sa-who">{esc(who)} · a person from our team</div>'
            f"{esc(text)}</div>"
        )
    if role == "notice":
        kind = esc(meta.get("kind", "info"))
        return f'<div class="sa-notice sa-{kind}" data-testid="notice">{esc(text)}</div>'
    if role == "system":
        return f'<div class="sa-notice" data-testid="notice">{esc(text)}</div>'
    table = meta.get("table")
    if table and "\n\n" in text:
        text = text.split("\n\n", 1)[0]  # the table is rendered as a table below
    body = f'<div class="sa-text" data-testid="bot-text">{esc(text)}</div>' if text else ""
    if msg.get("pending") and not text:
        body = '<div class="sa-text sa-typing">…</div>'
    thumbs = "" if msg.get("pending") or not mid else thumbs_html(mid, (voted or {}).get(str(mid)))
    return (
        f'<div class="sa-msg sa-bot" data-testid="bot-msg" data-mid="{esc(mid)}">'
        f"{cards_html(msg.get('cards') or [], mid)}{body}{table_html(table)}{thumbs}</div>"
    )


def transcript_html(messages: Iterable[dict], voted: dict | None = None, empty: str = "") -> str:
    """The whole conversation as HTML (the customer chat's one output)."""
    parts = [message_html(m, voted) for m in messages]
    if not parts and empty:
        parts = [f'<div class="sa-notice">{esc(empty)}</div>']
    return '<div class="sa-chat" data-testid="transcript">' + "".join(parts) + "</div>"
