"""``shopassist chat`` end to end over an ingested catalog (Assistant.from_settings)."""

from __future__ import annotations

from shopassist.cli import main


def test_chat_one_shot_messages(shop, capsys):
    settings, _, _ = shop
    rc = main(["--data-dir", str(settings.data_dir), "chat", "--llm", "scripted", "-m", "a kettle under $40", "-m", "talk to a human"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "you> a kettle under $40" in out and "[1] " in out and "bot> " in out
    assert "[handoff requested]" in out
