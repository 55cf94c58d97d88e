"""The agent console (``/agent``, behind a login): queue, transcript, profile, candidates,
take over / hand back, suggested reply, pin a product, and the engagement panel.

Everything it shows or changes goes through the assistant's desk (``assistant.desk``); the login is
Gradio's own (``mount_gradio_app(auth=...)``), so no handler here runs for a visitor who
has not signed in. The signed-in name (``gr.Request.username``) is the agent's name in
the customer's chat.
"""

from __future__ import annotations

import logging

import gradio as gr
import pandas as pd

from assistant.chat import Assistant
from ui.render import esc, md_code, transcript_html

log = logging.getLogger("ui.console")

QUEUE_HEADERS = ["status", "user", "last message", "msgs", "where", "updated (UTC)"]
CAND_HEADERS = ["product_id", "retrieval score", "predicted stars", "final score", "title", "explanation"]
REFRESH_S = 3.0


def _agent(request: gr.Request | None) -> str:
    return (getattr(request, "username", None) or "agent") if request is not None else "agent"


class Console:
    """Handlers of the agent console over one assistant."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.desk = assistant.desk

    # -- the queue ------------------------------------------------------------------------------
    def queue(self, selected: str | None):
        """The most urgent ``console_rows`` conversations, ids and previews cut to ``console_text_chars``."""
        rows, choices = [], []
        cut = self.assistant.settings.console_text_chars
        for c in self.desk.queue(limit=self.assistant.settings.console_rows):
            if c.taken_over_by:
                status = f"agent: {c.taken_over_by}"
            elif c.handoff:
                status = "HANDOFF"
            else:
                status = "bot"
            user = (c.user_id or "guest")[:cut]
            last = (c.last_message or "").replace("\n", " ")[: min(80, cut)]
            rows.append([status, user, last, c.n_messages, c.surface, c.updated_at.strftime("%H:%M:%S")])
            choices.append((f"{status} · {user} · #{c.id[:6]} · {last[:40] or '(empty)'}", c.id))
        table = pd.DataFrame(rows, columns=QUEUE_HEADERS)
        ids = [v for _, v in choices]
        return table, gr.update(choices=choices, value=selected if selected in ids else None)

    # -- one conversation -------------------------------------------------------------------------
    def view(self, cid: str | None):
        """Transcript, status line, profile and candidates of the selected conversation."""
        if not cid or not self.desk.has_conversation(cid):
            empty = pd.DataFrame([], columns=CAND_HEADERS)
            return (
                transcript_html([], empty="Pick a conversation from the queue."),
                "No conversation selected.",
                "",
                empty,
                gr.update(choices=[], value=None),
            )
        msgs = [
            {"id": m.id, "role": m.role, "text": m.text, "cards": m.cards, "meta": m.meta}
            for m in self.desk.messages(cid)
        ]
        # the console shows cards as the shopper saw them, without the shopper's buttons
        html = transcript_html(msgs).replace('data-action="', 'data-shown-action="')
        agent = self.desk.taken_over_by(cid)
        status = f"**Taken over by {agent}** — the bot is paused." if agent else "The bot is answering."
        if self.desk.handoff_requested(cid):
            status = "**HANDOFF: the shopper asked for a person.** " + status
        degraded = self.desk.health()["degraded"]
        if degraded:  # the shopper sees cards and a template answer; the agent should know why
            status += " **Backend degraded:** " + "; ".join(degraded) + "."
        pins = self.desk.pinned(cid)
        if pins:
            status += f" Pinned: {', '.join(md_code(p) for p in pins)}."  # ids are untrusted text
        user = self.desk.conversation_user(cid)
        cands = self.desk.candidates(cid)
        rows = [
            [
                c.get("product_id"),
                c.get("score"),
                None if c.get("stars") is None else round(float(c["stars"]), 2),
                c.get("final"),
                (c.get("title") or "")[:90],
                "; ".join(c.get("explanation") or [])[:200],
            ]
            for c in cands
        ]
        pin_choices = [(f"{(c.get('title') or c['product_id'])[:60]}", c["product_id"]) for c in cands]
        return html, status, self.profile_html(user), pd.DataFrame(rows, columns=CAND_HEADERS), gr.update(
            choices=pin_choices, value=None
        )

    def profile_html(self, user_id: str | None) -> str:
        if not user_id:
            return '<div class="sa-profile"><b>Guest shopper</b>: no history, no personalisation.</div>'
        try:
            p = self.desk.profile(user_id)
        except Exception:  # an unknown user id is shown as such, not as an error page
            log.warning("profile of %s unavailable", user_id, exc_info=True)
            return f'<div class="sa-profile"><b>{esc(user_id)}</b>: no profile available.</div>'
        hist = p.get("history") or []
        items = "".join(f"<li>{esc(t)} — {float(s):.0f}★</li>" for t, s in hist[-8:][::-1])
        likes = ", ".join(esc(x) for x in p.get("likes") or []) or "—"
        dislikes = ", ".join(esc(x) for x in p.get("dislikes") or []) or "—"
        persona = f"<div><i>{esc(p['persona'])}</i></div>" if p.get("persona") else ""
        return (
            f'<div class="sa-profile"><div><b>{esc(p.get("name") or user_id)}</b> ({esc(user_id)})</div>{persona}'
            f"<div>Rated {len(hist)} products; latest:</div><ul>{items or '<li>none</li>'}</ul>"
            f"<div>Likes: {likes}</div><div>Dislikes: {dislikes}</div></div>"
        )

    # -- actions ----------------------------------------------------------------------------------------
    def take_over(self, cid: str | None, request: gr.Request):
        if not cid:
            raise gr.Error("Pick a conversation first.")
        self.desk.take_over(cid, _agent(request))
        return self.view(cid)

    def hand_back(self, cid: str | None):
        if not cid:
            raise gr.Error("Pick a conversation first.")
        self.desk.hand_back(cid)
        return self.view(cid)

    def suggest(self, cid: str | None) -> str:
        if not cid:
            raise gr.Error("Pick a conversation first.")
        return self.desk.suggest_reply(cid)

    def send(self, cid: str | None, text: str, request: gr.Request):
        if not cid:
            raise gr.Error("Pick a conversation first.")
        text = (text or "").strip()
        if not text:
            raise gr.Error("Write a reply first (or press “Suggest a reply”).")
        self.desk.agent_reply(cid, _agent(request), text)
        return ("", *self.view(cid))

    def pin(self, cid: str | None, product_id: str | None):
        if not cid or not product_id:
            raise gr.Error("Pick a conversation and a candidate to pin.")
        self.desk.pin(cid, product_id)
        gr.Info("Pinned: it will be shown first in the shopper's next answers.")
        return self.view(cid)

    # -- engagement -------------------------------------------------------------------------------------
    def engagement(self):
        e = self.desk.engagement()
        per_hour = pd.DataFrame(
            [(h[11:16], n) for h, n in e["conversations_per_hour"]], columns=["hour (UTC)", "conversations"]
        )
        rates = pd.DataFrame(
            [
                ("thumbs-up rate", e["thumbs_up_rate"]),
                ("card click-through", e["card_ctr"]),
                ("handoff rate", e["handoff_rate"]),
                ("add-to-cart / conversation", e["add_to_cart_per_conversation"]),
            ],
            columns=["metric", "value"],
        )
        summary = " · ".join(f"**{m}**: {v:.2f}" for m, v in rates.itertuples(index=False))
        arms, ab_summary = self.arms()
        return per_hour, rates, summary + ab_summary, arms

    def arms(self) -> tuple[pd.DataFrame, str]:
        """Both arms of the ranker A/B test side by side (``shopassist report ab``): one row per
        (metric, arm) with its 95 % interval (bars side by side: a bar plot's colour groups stack);
        empty while no event carries an arm."""
        ab = self.desk.ab()
        rows = [(f"{label} · {arm}", f"{arm} (n={a[metric]['n']})", a[metric]["value"], *a[metric]["ci95"])
                for arm, a in ab["arms"].items() for metric, label in AB_METRICS
                if a[metric]["value"] is not None]  # fmt: skip
        frame = pd.DataFrame(rows, columns=["metric", "arm", "value", "ci95 low", "ci95 high"])
        if not rows:
            return frame, ""
        diffs = " · ".join(f"{label} B−A {d['value']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}], "
                           f"n/arm needed {d['n_per_arm_needed']}"
                           for metric, label in AB_METRICS if (d := ab["b_minus_a"][metric])["value"] is not None)  # fmt: skip
        return frame, f"\n\n**A/B test**: {diffs}"


# the A/B test's metrics on the Engagement tab, as ``assistant.experiment.ab_report`` names them
AB_METRICS = (("card_ctr", "card click-through"), ("thumbs_up_rate", "thumbs-up rate"),
              ("add_to_cart_per_conversation", "add-to-cart / conversation"))


def build_console(assistant: Assistant) -> gr.Blocks:
    con = Console(assistant)
    with gr.Blocks(title="Agent console", delete_cache=(600, 3600)) as page:
        gr.Markdown("### Agent console")
        with gr.Tabs():
            with gr.Tab("Conversations"):
                with gr.Row():
                    with gr.Column(scale=2, min_width=280):
                        pick = gr.Dropdown([], label="Open conversation (handoffs first)", elem_id="conv-pick")
                        queue = gr.Dataframe(
                            pd.DataFrame([], columns=QUEUE_HEADERS), label="Queue", interactive=False, wrap=True
                        )
                        refresh = gr.Button("Refresh", size="sm")
                    with gr.Column(scale=3, min_width=320):
                        status = gr.Markdown("No conversation selected.", elem_id="conv-status")
                        transcript = gr.HTML(
                            transcript_html([], empty="Pick a conversation from the queue."),
                            js_on_load=None,
                            elem_id="agent-transcript",
                            max_height=520,
                            autoscroll=True,
                            padding=True,
                        )
                        with gr.Row():
                            take = gr.Button("Take over", variant="primary", elem_id="take-over")
                            back = gr.Button("Hand back to the bot", elem_id="hand-back")
                        reply = gr.Textbox(label="Reply to the shopper (editable)", lines=4, elem_id="agent-reply")
                        with gr.Row():
                            suggest = gr.Button("Suggest a reply", elem_id="suggest")
                            send = gr.Button("Send as me", variant="primary", elem_id="agent-send")
                    with gr.Column(scale=2, min_width=280):
                        profile = gr.HTML("", label="Customer profile", elem_id="profile", padding=True)
                        cands = gr.Dataframe(
                            pd.DataFrame([], columns=CAND_HEADERS),
                            label="Last turn's candidates",
                            interactive=False,
                            wrap=True,
                            elem_id="candidates",
                        )
                        with gr.Row():
                            pin_pick = gr.Dropdown([], label="Pin a product", scale=3, elem_id="pin-pick")
                            pin = gr.Button("Pin", scale=1, elem_id="pin")
            with gr.Tab("Engagement") as eng_tab:
                summary = gr.Markdown("", elem_id="engagement-summary")
                with gr.Row():
                    per_hour = gr.BarPlot(x="hour (UTC)", y="conversations", label="Conversations per hour", height=260)
                    rates = gr.BarPlot(x="metric", y="value", label="Engagement rates", height=260)
                arms = gr.BarPlot(x="metric", y="value", color="arm", label="A/B test: both arms",
                                  height=260, elem_id="ab-arms")
                eng_refresh = gr.Button("Refresh", size="sm")
        timer = gr.Timer(REFRESH_S)

        view_out = [transcript, status, profile, cands, pin_pick]
        private = {"api_visibility": "private"}
        page.load(con.queue, [pick], [queue, pick], **private)
        refresh.click(con.queue, [pick], [queue, pick], **private)
        timer.tick(con.queue, [pick], [queue, pick], show_progress="hidden", **private)
        timer.tick(lambda c: con.view(c)[:2], [pick], [transcript, status], show_progress="hidden", **private)
        pick.input(con.view, [pick], view_out, **private)
        take.click(con.take_over, [pick], view_out, **private)
        back.click(con.hand_back, [pick], view_out, **private)
        suggest.click(con.suggest, [pick], [reply], **private)
        send.click(con.send, [pick, reply], [reply, *view_out], **private)
        pin.click(con.pin, [pick, pin_pick], view_out, **private)
        for trigger in (eng_tab.select, eng_refresh.click):
            trigger(con.engagement, None, [per_hour, rates, summary, arms], **private)
    return page
