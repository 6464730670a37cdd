"""Makes the README's report screenshot (docs/report.png) from traffic driven through the real bot.

The bot answers the sample knowledge base's questions and the off-topic / unanswerable questions of
tests/data/gap_questions.jsonl; a few hand-overs are asked for, and votes are cast: by this script,
so the helpful rates in the picture are staged, as is the prompt edit half-way through (decline.md
gains a sentence, which makes a new prompt version). Everything else is what the bot did.

    REDIS_URL=redis://localhost:6379/0 .venv/bin/python scripts/demo_report.py [--out docs/report.png]

It writes under a random key prefix and deletes it afterwards. Needs Debian's chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from bot.logs import configure_logging
from bot.reporting import build_report
from bot.reporting import html as html_report
from bot.settings import load_settings
from bot.types import ConversationKey, Inquiry
from bot.wiring import build_bot

ROOT = Path(__file__).resolve().parents[1]
RETAIL = ["How long does a refund take?", "Do you ship to Canada?", "Can I return an opened item after 30 days?",
          "What does the warranty cover?", "How do loyalty points work?", "Is shipping free?"]


async def drive(prefix: str, prompts: Path) -> Path:
    settings = load_settings(None, prompts_dir=prompts, redis_url=SecretStr(os.environ["REDIS_URL"]))
    settings = settings.model_copy(update={
        "redis": settings.redis.model_copy(update={"key_prefix": prefix}),
        "rate_limit": settings.rate_limit.model_copy(update={"enabled": False})})
    bot = build_bot(settings)
    if bot.index.generation() == 0:
        bot.reindex()
    gaps = [json.loads(line) for line in (ROOT / "tests/data/gap_questions.jsonl").read_text().splitlines()]
    n = 0

    async def ask(text: str) -> tuple[Inquiry, object]:
        nonlocal n
        n += 1
        inquiry = Inquiry(text=text, conversation=ConversationKey("slack", "CDEMO", uuid.uuid4().hex),
                          user_id=f"U{n}")
        return inquiry, await bot.answer(inquiry)

    for half in (0, 1):
        if half:  # a support lead edits a prompt: a new prompt version from here on
            decline = prompts / "decline.md"
            decline.write_text(decline.read_text() + "\nYou can also browse our help centre.\n")
        for i, row in enumerate(gaps[half::2]):
            inquiry, answer = await ask(row["text"])
            if answer.mode != "declined":
                await bot.feedback(answer.answer_id, False, inquiry.user_id)
            if i % 4 == 0:
                await bot.escalate(inquiry.conversation, requested_by=inquiry.user_id, answer_id=answer.answer_id)
        for round_ in range(3):
            for j, text in enumerate(RETAIL):
                inquiry, answer = await ask(text)
                helpful = (j + round_) % (3 if half == 0 else 6) != 0
                await bot.feedback(answer.answer_id, helpful, inquiry.user_id)
    report = await build_report(bot, timedelta(days=1))
    target = html_report.write(report, ROOT / "reports" / "demo-report.html")
    keys = [key async for key in bot.state.redis.client.scan_iter(match=prefix + "*")]
    if keys:
        await bot.state.redis.client.delete(*keys)
    await bot.close()
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory() as folder:
        prompts = Path(folder) / "prompts"
        shutil.copytree(ROOT / "prompts", prompts)
        page = asyncio.run(drive(f"demo-{uuid.uuid4().hex[:8]}:", prompts))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1000,2000", f"--screenshot={args.out}", page.as_uri()], check=True,
                   capture_output=True)
    print(f"{page} -> {args.out}")


if __name__ == "__main__":
    main()
