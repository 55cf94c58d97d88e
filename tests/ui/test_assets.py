"""The demo catalog's own images: every demo product points at one the app serves, as safe SVG."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import httpx
import pytest

from assistant.media import IMAGE_DIR, URL_PREFIX
from retrieval.demo import DEMO_DIR


def _demo_urls() -> set[str]:
    with open(DEMO_DIR / "products.jsonl", encoding="utf-8") as f:
        return {u for line in f for u in json.loads(line)["image_urls"]}


def test_every_demo_image_is_a_small_svg_without_scripts_or_links():
    files = sorted(IMAGE_DIR.glob("*.svg"))
    assert len(files) >= 20
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert len(text) < 4096, path.name
        root = ElementTree.fromstring(text)  # well-formed
        tags = {el.tag.split("}")[-1] for el in root.iter()}
        assert tags <= {"svg", "title", "rect", "g", "path", "circle", "ellipse"}, (path.name, tags)
        attrs = {k for el in root.iter() for k in el.attrib}
        assert not [a for a in attrs if a.lower().startswith("on") or "href" in a.lower()], path.name
        assert not re.search(r"javascript:|url\(|<script", text, re.IGNORECASE)


def test_the_route_serves_every_demo_card_image_and_nothing_else(live_app):
    urls = _demo_urls()
    assert urls and all(u.startswith(URL_PREFIX) for u in urls)
    with httpx.Client(base_url=live_app.url, timeout=30) as http:
        for url in sorted(urls):
            r = http.get(url)
            assert r.status_code == 200, url
            assert r.headers["content-type"].startswith("image/svg+xml")
            assert "default-src 'none'" in r.headers["content-security-policy"]
            assert r.text.lstrip().startswith("<svg")
        for bad in ("../products.jsonl", "..%2Fproducts.jsonl", "README.md", "nope.svg", ".svg"):
            assert http.get(URL_PREFIX + bad).status_code == 404, bad


@pytest.mark.parametrize("message", ["a quiet blender under $80", "a tent for two"])
def test_demo_cards_carry_a_served_image(live_app, message):
    from gradio_client import Client

    out = Client(live_app.url + "/", verbose=False).predict(message, "guest", "", api_name="/chat")
    demo = [c for c in out["cards"] if c["product_id"].startswith("demo-")]
    assert demo
    with httpx.Client(base_url=live_app.url, timeout=30) as http:
        for c in demo:
            assert c["image_url"].startswith(URL_PREFIX)
            assert http.get(c["image_url"]).status_code == 200


@pytest.mark.browser
@pytest.mark.slow
def test_cards_show_the_drawings_and_a_failed_image_becomes_the_placeholder(page, live_app, screenshots):
    from tests.ui.test_browser import ask, open_chat, wait_for

    open_chat(page, live_app)
    ask(page, "a tent for two")
    imgs = page.locator("[data-testid=card] .sa-img img")
    assert imgs.count() >= 1
    wait_for(lambda: page.evaluate("[...document.querySelectorAll('.sa-img img')].every(i => i.complete)"), what="images")
    loaded = page.evaluate("[...document.querySelectorAll('.sa-img img')].map(i => [i.getAttribute('src'), i.naturalWidth])")
    assert all(src.startswith(URL_PREFIX) and width > 0 for src, width in loaded), loaded
    page.screenshot(path=str(screenshots / "cards-with-images.png"), full_page=True)
    # an image host that does not answer: the frame shows the placeholder, never a broken icon
    page.evaluate("document.querySelector('.sa-img img').src = 'http://127.0.0.1:9/gone.jpg'")
    wait_for(lambda: page.locator(".sa-img.sa-noimg").count() >= 1, what="placeholder")
    frame = page.locator(".sa-img.sa-noimg").first
    assert frame.locator("img").count() == 0
    assert "data:image/svg+xml" in frame.evaluate("el => getComputedStyle(el).backgroundImage")
    frame.screenshot(path=str(screenshots / "card-placeholder.png"))
