"""Findings 1, 4, 6, 11 and the page redirects (issue 13), over HTTP against the real app."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import httpx
import pytest

from shopassist.settings import ConfigError
from tests.security.conftest import AGENT, PROD_PASSWORD

MOUNTS = ("", "/widget", "/agent")


@contextmanager
def _agent_client(url: str):
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.post("/agent/login", data={"username": AGENT[0], "password": AGENT[1]}).status_code == 200
        yield http


def test_deep_links_and_file_serving_are_closed_on_every_mount(demo_app):
    """#1: /gradio_api/deep_link wrote any session's transcript to a file that /gradio_api/file= served."""
    from gradio_client import Client

    out = Client(demo_app.url + "/", verbose=False).predict("a quiet blender under $80", "guest", "", api_name="/chat")
    assert out["cards"]  # a real session with a transcript exists
    with _agent_client(demo_app.url) as http:  # even signed in
        for m in MOUNTS:
            r = http.get(f"{m}/gradio_api/deep_link", params={"session_hash": "abc123"})
            assert r.status_code == 404, (m, r.status_code, r.text[:200])
            for path in ("/gradio_api/file=/etc/hostname", "/gradio_api/file/etc/hostname", "/file=/etc/hostname",
                         "/gradio_api/proxy=https://example.com/"):
                assert http.get(m + path).status_code == 404, m + path
        # the pages themselves still work
        assert http.get("/").status_code == 200 and http.get("/agent/config").status_code == 200
        assert http.get("/gradio_api/info").status_code == 200


def test_uploads_are_closed_on_every_mount(demo_app):
    """#4: a 30 MB upload was accepted in 0.12 s and kept, though the app has no file input."""
    blob = b"x" * (2 * 1024 * 1024)
    with _agent_client(demo_app.url) as http:
        for m in MOUNTS:
            r = http.post(f"{m}/gradio_api/upload", files={"files": ("big.bin", blob)})
            assert r.status_code == 404, (m, r.status_code)
            assert http.get(f"{m}/gradio_api/upload_progress", params={"upload_id": "x"}).status_code == 404


def test_widget_and_agent_without_the_slash_redirect(demo_app):
    with httpx.Client(base_url=demo_app.url, timeout=30) as http:
        for path in ("/widget", "/agent"):
            r = http.get(path)
            assert r.status_code in (301, 302, 307, 308) and r.headers["location"] == path + "/"
            assert http.get(path, follow_redirects=True).status_code == 200


def test_agent_login_is_throttled_with_back_off_and_failures_are_logged(fresh_app, caplog):
    """#6: 50 wrong passwords in 0.2 s, then the right one worked."""
    srv = fresh_app(login_max_failures=3, login_backoff_s=2.0)
    caplog.set_level(logging.WARNING, logger="ui.guard")
    with httpx.Client(base_url=srv.url, timeout=30) as http:
        codes = [http.post("/agent/login", data={"username": AGENT[0], "password": f"guess{i}"}).status_code
                 for i in range(10)]
        assert codes[:3] == [400, 400, 400] and set(codes[3:]) == {429}
        locked = http.post("/agent/login", data={"username": AGENT[0], "password": AGENT[1]})
        assert locked.status_code == 429 and "Try again in" in locked.text and int(locked.headers["retry-after"]) >= 1
        assert http.get("/agent/config").status_code == 401
    assert sum("failed agent login from 127.0.0.1" in r.getMessage() for r in caplog.records) == 3
    assert any("refused" in r.getMessage() for r in caplog.records)


def test_login_back_off_ends_and_a_right_password_then_works(fresh_app):
    import time

    srv = fresh_app(login_max_failures=2, login_backoff_s=1.0)
    with httpx.Client(base_url=srv.url, timeout=30) as http:
        for i in range(2):
            assert http.post("/agent/login", data={"username": AGENT[0], "password": f"x{i}"}).status_code == 400
        assert http.post("/agent/login", data={"username": AGENT[0], "password": AGENT[1]}).status_code == 429
        time.sleep(1.2)
        assert http.post("/agent/login", data={"username": AGENT[0], "password": AGENT[1]}).status_code == 200
        assert http.get("/agent/config").status_code == 200


@pytest.mark.parametrize("password", ["demo", "Demo", "admin"])
def test_production_refuses_the_demo_password(prod_settings, sec_assistant, password):
    """#11: production started with SHOPASSIST_AGENT_PASSWORD=demo without a word."""
    from ui.app import build_app

    bad = prod_settings.model_copy(update={"agent_password": type(prod_settings.agent_password)(password)})
    with pytest.raises(ConfigError, match="refuses the demo"):
        build_app(bad, sec_assistant)
    assert prod_settings.agent_secret == PROD_PASSWORD


def test_production_needs_an_identity_secret(prod_settings, sec_assistant):
    from ui.app import build_app

    bad = prod_settings.model_copy(update={"identity_secret": type(prod_settings.identity_secret)("")})
    with pytest.raises(ConfigError, match="IDENTITY_SECRET"):
        build_app(bad, sec_assistant)


def test_two_servers_on_one_store_share_console_logins_and_the_login_throttle(fresh_app):
    """Issue 17: an agent signed in on one replica was a stranger to the others (Gradio keeps the
    login in the process), and each replica counted wrong passwords on its own."""
    a, b = (fresh_app(login_max_failures=2, login_backoff_s=30.0) for _ in range(2))
    with httpx.Client(base_url=a.url, timeout=30) as ha, httpx.Client(base_url=b.url, timeout=30) as hb:
        assert ha.post("/agent/login", data={"username": AGENT[0], "password": AGENT[1]}).status_code == 200
        assert hb.get("/agent/config").status_code == 401
        for c in ha.cookies.jar:  # the browser's cookie, sent to the other replica by the load balancer
            hb.cookies.set(c.name, c.value)
        assert hb.get("/agent/config").status_code == 200
        hb.get("/agent/logout")  # signing out on B ends the session on A too
        assert ha.get("/agent/config").status_code == 401
        assert ha.post("/agent/login", data={"username": AGENT[0], "password": "wrong-1"}).status_code == 400
        assert hb.post("/agent/login", data={"username": AGENT[0], "password": "wrong-2"}).status_code == 400
        assert ha.post("/agent/login", data={"username": AGENT[0], "password": AGENT[1]}).status_code == 429
