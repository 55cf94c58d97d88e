"""Findings 9 and 13 in a real Chromium against the real app; the console's views are bounded (#3)."""

from __future__ import annotations

from gradio_client import Client

from tests.security.conftest import AGENT
from tests.ui.test_browser import ask, latest_conversation, open_chat, open_console, wait_for

MARKUP_ID = '<img src="https://evil.example.com/beacon.png">[claim your prize](https://evil.example.com) ![b](https://evil.example.com/b.png)'


def test_pinned_product_id_with_markup_shows_as_text_in_the_console(browser, demo_app, screenshots):
    """#9: a product id with markup rendered as a live link and a beacon image in "Pinned:"."""
    store = demo_app.assistant.store
    cid = Client(demo_app.url + "/", verbose=False).predict("a kettle", "guest", "", api_name="/chat")["conversation_id"]
    store.pin_product(cid, MARKUP_ID)  # as if from a catalog stored before ingest refused such ids
    beacons: list[str] = []
    agent = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    agent.on("request", lambda r: beacons.append(r.url) if "evil.example.com" in r.url else None)
    open_console(agent, demo_app.url, cid, AGENT)
    agent.wait_for_selector("#conv-status >> text=Pinned:")
    status = agent.locator("#conv-status")
    agent.screenshot(path=str(screenshots / "security-pinned-markup.png"))
    assert status.locator("a").count() == 0 and status.locator("img").count() == 0
    assert "[claim your prize](https://evil.example.com)" in status.inner_text()
    assert not beacons


def test_card_actions_only_name_products_shown_in_the_conversation(page, demo_app):
    """#13: like / add to cart / more like this accepted any product id, shown or not."""
    store = demo_app.assistant.store
    open_chat(page, demo_app)
    ask(page, "a quiet blender under $80")
    conv = wait_for(lambda: latest_conversation(store, surface="chat"), what="the conversation")
    shown = store.shown_products(conv.id)
    forged = next(p for p in ("hostile-0002", "demo-0100", "demo-0050") if p not in shown)
    # the page is the attacker's: rewrite a card's product id, then press its buttons
    page.evaluate(
        "(pid) => document.querySelectorAll('#transcript [data-action][data-pid]').forEach(b => b.dataset.pid = pid)",
        forged,
    )
    page.locator("#transcript [data-action=add_to_cart]").first.click()
    page.locator("#transcript [data-action=thumb_up][data-pid]").first.click()
    page.wait_for_selector("text=not shown in this conversation")
    page.wait_for_timeout(1000)
    assert not [e for e in store.events(conversation_id=conv.id) if e.product_id == forged]
    # a genuine card still works
    page.reload()
    open_chat(page, demo_app)
    ask(page, "a quiet blender under $80")
    conv2 = wait_for(lambda: (c := latest_conversation(store, surface="chat")) and c.id != conv.id and c, what="a new one")
    pid = page.locator("#transcript [data-action=add_to_cart]").first.get_attribute("data-pid")
    page.locator("#transcript [data-action=add_to_cart]").first.click()
    wait_for(lambda: ("add_to_cart", pid) in {(e.kind, e.product_id) for e in store.events(conversation_id=conv2.id)},
             what="the genuine add to cart")


def test_console_queue_is_bounded_and_cut(fresh_app):
    """#3: a 1 MB id ×10 grew the console's 3-second refresh from 2 MB to 22 MB."""
    from ui.console import Console

    srv = fresh_app(console_rows=10, console_text_chars=20)
    c = Client(srv.url + "/", verbose=False)
    for _ in range(3):
        c.predict("x" * 1500, "u" * 60, "", api_name="/chat")
    table, _ = Console(srv.assistant).queue(None)
    assert len(table) <= 10
    assert table["user"].str.len().max() <= 20 and table["last message"].str.len().max() <= 20
