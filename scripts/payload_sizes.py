"""Print the worst-case size of every payload the adapters build, beside the platform's limit.

    python scripts/payload_sizes.py

The inputs are the worst cases the limit tests use (tests/adapters/worst_cases.py): a 6,000-
character answer full of links, citations and characters to escape, ten sources with 300-character
titles and long addresses, a 4,000-character question, forty 1,500-character transcript turns, the
largest snowflakes, plus texts built to break a splitter. Limits come from the rule tables the
fakes enforce (tests/fakes/rules/*.json, extracted from the platforms' specs). It exits 1 if any
worst case exceeds its limit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.discord.convert import ask_conversation, conversation_at, thread_name  # noqa: E402
from adapters.discord.render import escalation_report, render_answer, render_sources  # noqa: E402
from adapters.discord.views import Sealing, answer_view, apology_view  # noqa: E402
from adapters.slack import blocks  # noqa: E402
from adapters.slack.delivery import STREAM_BUFFER, STREAM_PIECE  # noqa: E402
from adapters.slack.refs import ThreadRef  # noqa: E402
from bot.types import ConversationKey  # noqa: E402
from tests.adapters import worst_cases  # noqa: E402
from tests.fakes import discord_rules, slack_rules  # noqa: E402

BIG = 2**63 - 1
REF = ThreadRef("C" + "0" * 10, "1700000000.000100", worst_cases.ANSWER_ID, asker=worst_cases.USER_ID,
                signer=worst_cases.SIGNER)


def slack_rows() -> list[tuple[str, str, int, int]]:
    answers = [worst_cases.answer()] + [worst_cases.answer(text=t) for t in worst_cases.ADVERSARIAL]
    built = [blocks.answer_blocks(a, REF) for a in answers]
    sections = [b["text"]["text"] for m in built for b in m if b["type"] == "section"]
    context = [e["text"] for m in built for b in m if b["type"] == "context" for e in b["elements"]]
    buttons = [e for m in built for b in m if b["type"] == "actions" for e in b["elements"]]
    escalation = blocks.escalation_blocks(worst_cases.escalation(ConversationKey("slack", "C1", "1.1")),
                                          permalink="https://t.slack.com/archives/C1/p1", support_mention="<!subteam^S1>",
                                          resolve_value="r")
    staff_sections = [b["text"]["text"] for b in escalation if b["type"] == "section"]
    limit = slack_rules.limit
    return [
        ("answer: blocks in a message", "message.blocks", max(len(m) for m in built), limit("message.blocks")),
        ("answer: section text (escaped)", "section.text", max(map(len, sections)), limit("section.text")),
        ("answer: Sources context element", "text_object.text", max(map(len, context)), limit("text_object.text")),
        ("answer: all block text (msg_blocks_too_long, observed ~13,000)", "(observed)",
         max(sum(len(b.get("text", {}).get("text", "")) for b in m)
             + sum(len(e.get("text", "")) for b in m if b["type"] == "context" for e in b["elements"]) for m in built),
         13000),
        ("answer: button label", "button.text", max(len(b["text"]["text"]) for b in buttons), limit("button.text")),
        ("answer: button action_id", "button.action_id", max(len(b["action_id"]) for b in buttons),
         limit("button.action_id")),
        ("answer: button value (thread ref)", "button.value", max(len(b["value"]) for b in buttons),
         limit("button.value")),
        ("answer: notification text", "message.text", max(len(blocks.notification_text(a.text)) for a in answers),
         limit("message.text")),
        ("hand-over: blocks", "message.blocks", len(escalation), limit("message.blocks")),
        ("hand-over: section text (question, answer)", "section.text", max(map(len, staff_sections)),
         limit("section.text")),
        ("stream: markdown_text per call", "stream.markdown_text", STREAM_PIECE + STREAM_BUFFER,
         limit("stream.markdown_text")),
        ("DM: suggested prompts", "suggested_prompts", 4, limit("suggested_prompts")),
    ]


def discord_rows() -> list[tuple[str, str, int, int]]:
    answers = [worst_cases.answer()] + [worst_cases.answer(text=t) for t in worst_cases.ADVERSARIAL]
    chunks = [c for a in answers for c in render_answer(a)]
    sealing = Sealing(worst_cases.SIGNER, str(BIG))
    views = [answer_view(worst_cases.answer(), sealing), answer_view(worst_cases.answer(mode="declined"), sealing),
             apology_view(ask_conversation(BIG, BIG, BIG), sealing), apology_view(conversation_at(BIG, BIG), sealing)]
    components = [v.to_components() for v in views]
    ids = [c["custom_id"] for rows in components for row in rows for c in row["components"]]
    labels = [c["label"] for rows in components for row in rows for c in row["components"]]
    report = escalation_report(worst_cases.escalation(conversation_at(BIG, BIG)), support_role_id=BIG)
    fact = discord_rules.fact
    return [
        ("answer: message content", "message.content.max", max(map(len, chunks)), fact("message.content.max")),
        ("answer: Sources list", "message.content.max", len(render_sources(worst_cases.long_sources(30))),
         fact("message.content.max")),
        ("answer: action rows", "message.action_rows.max", max(map(len, components)), fact("message.action_rows.max")),
        ("answer: buttons in a row", "action_row.buttons.max",
         max(len(row["components"]) for rows in components for row in rows), fact("action_row.buttons.max")),
        ("answer/apology: custom_id", "button.custom_id.range", max(map(len, ids)), fact("button.custom_id.range")[1]),
        ("answer: button label", "button.label.max", max(map(len, labels)), fact("button.label.max")),
        ("hand-over report", "message.content.max", len(report), fact("message.content.max")),
        ("thread name", "thread.name.max", len(thread_name(worst_cases.long_question())), fact("thread.name.max")),
    ]


def main() -> int:
    worst = 0
    for platform, rows in (("Slack", slack_rows()), ("Discord", discord_rows())):
        print(f"\n{platform}\n| payload | rule | worst case | limit |\n|---|---|---:|---:|")
        for what, rule, size, limit in rows:
            worst = max(worst, size / limit)
            print(f"| {what} | {rule} | {size:,} | {limit:,} |")
    print(f"\nlargest share of a limit used: {worst:.0%}")
    headers = {name: json.loads(path.read_text())["header"] for name, path in
               (("slack", slack_rules.RULES_FILE), ("discord", discord_rules.RULES_FILE))}
    print("rules extracted:", ", ".join(f"{n} {h['extracted']}" for n, h in headers.items()))
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
