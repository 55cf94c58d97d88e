"""The chat page's MCP tools, through a real MCP client (streamable HTTP) against the live app on loopback."""

from __future__ import annotations

import ast
import asyncio
from concurrent.futures import ThreadPoolExecutor


def mcp_calls(url: str, calls: list[tuple[str, dict]]):
    """(tool names, [(is_error, text)] per call) from one MCP session."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def session():
        async with streamablehttp_client(f"{url}/gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as s:
                await s.initialize()
                names = {t.name for t in (await s.list_tools()).tools}
                out = []
                for name, args in calls:
                    res = await s.call_tool(name, args)
                    out.append((res.isError, " ".join(c.text for c in res.content if hasattr(c, "text"))))
                return names, out

    # a thread of its own: the session-wide Playwright browser keeps an event loop running in this one
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, session()).result(timeout=120)


def test_mcp_tools_search_describe_and_recommend_from_the_catalog(live_app):
    names, [(err1, found), (err2, missing), (err5, too_long)] = mcp_calls(live_app.url, [
        ("search_catalog", {"query": "a kettle under $40", "limit": 3}),
        ("get_product", {"product_id": "no-such-product"}),
        ("search_catalog", {"query": "x" * 5000}),
    ])
    assert {"search_catalog", "get_product", "recommend"} <= names
    cards = ast.literal_eval(found)  # the tool's list of card dicts, as Gradio's MCP server prints it
    assert not err1 and 1 <= len(cards) <= 3
    assert all(c["price"] <= 40 and "kettle" in c["title"].lower() for c in cards)
    assert err2 and "no product" in missing
    assert err5 and "too long" in too_long  # oversized input is refused, as in the chat
    first = cards[0]["product_id"]
    _, [(err3, facts), (err4, recs)] = mcp_calls(live_app.url, [
        ("get_product", {"product_id": first}),
        ("recommend", {"user_id": "alice", "query": "headphones", "limit": 4}),
    ])
    facts = ast.literal_eval(facts)
    assert not err3 and facts["product_id"] == first and facts["title"] == cards[0]["title"]
    store = live_app.assistant.catalog.store
    assert facts["price"] == store.get(first).price  # catalog data, not generated
    recs = ast.literal_eval(recs)
    assert not err4 and len(recs) == 4 and all("Headphones" in store.get(c["product_id"]).categories for c in recs)
    assert all(c["stars_predicted"] is not None for c in recs)  # ranked for alice by the rating model
