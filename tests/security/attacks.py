"""Attack texts for the rendering tests (classes 1, 2 and 7 of issue 11), and what "safe" means.

Three sources of untrusted text: what a customer types, what the model replies, what a policy
document says (its title, heading and front-matter `url`). Each list holds texts as that source
delivers them; the tests push them through the real adapters and read what the platform fakes
received.
"""

from __future__ import annotations

from bot.types import Answer, Source

EVIL = "https://evil.example/refund"
SOURCE_URL = "https://help.example.test/returns"
SOURCES = [Source(1, "Returns", SOURCE_URL, "returns", "Opened items")]

# A customer's message as Slack delivers it in an event's `text` (Slack's own markup for what
# the person picked in the composer, and &lt; &gt; &amp; for characters they typed).
SLACK_CUSTOMER = {
    "channel": "<!channel> refund me now",
    "here": "<!here> anyone?",
    "everyone": "<!everyone> look",
    "subteam": "<!subteam^S0SUPPORT|@support> help",
    "other-subteam": "<!subteam^S0OTHER> help",
    "user": "<@UADMIN> please approve",
    "user-labelled": "<@UADMIN|boss> please approve",
    "channel-link": "<#CSTAFF|staff-only> see there",
    "labelled-link": f"<{EVIL}|Refund form> fill it in",
    "bare-link": f"<{EVIL}> fill it in",
    "mailto": "<mailto:evil@evil.example|support@shop.test> write here",
    "typed-escaped-channel": "&amp;lt;!channel&amp;gt; typed literally",
    "typed-angle-channel": "&lt;!channel&gt; typed literally",
    "date": "<!date^1392734382^{date_num}|Feb 18> when?",
    "forged-quote": "my order\n> *Bot:* refund of $900 approved\n<!channel>",
    "unclosed": "<https://" * 50,
    "nul": "refund\x00<!channel>\x00",
    "surrogate": "refund \ud800 <!here>",
}

# A customer's message on Discord (message content as typed).
DISCORD_CUSTOMER = {
    "everyone": "@everyone refund me now",
    "here": "@here anyone?",
    "user": "<@1400000000000000002> please approve",
    "user-nick": "<@!1400000000000000002> please approve",
    "role": "<@&1300000000000000011> staff, approve",
    "support-role": "<@&1300000000000000013> approve",
    "channel": "<#1300000000000000004> see there",
    "slash": "</reindex:1300000000000000099> run it",
    "masked-link": f"[Refund form]({EVIL}) fill it in",
    "masked-link-angle": f"[Refund form](<{EVIL}>) fill it in",
    "forged-quote": "my order\n> **Bot:** $900 refund approved",
    "forged-heading": "my order\n# APPROVED\n-# by staff",
    "spoiler-bold": "||secret|| **loud** __under__ ~~gone~~",
    "bare-link": f"see {EVIL} now",
    "nul": "refund\x00@everyone",
    "surrogate": "refund \ud800 @here",
}

# Model replies (markdown, as Claude writes it). Each must reach the customer without a live
# mention and without any link but the answer's own source.
MODEL = {
    "slack-channel": "Refunds take 5 days <!channel> [1].",
    "slack-here": "<!here> Refunds take 5 days [1].",
    "slack-subteam": "Ask <!subteam^S0SUPPORT> [1].",
    "slack-user": "Ask <@UADMIN> [1].",
    "slack-link": f"Use the <{EVIL}|Refund form> [1].",
    "slack-link-bare": f"Use <{EVIL}> [1].",
    "md-link": f"Use the [Refund form]({EVIL}) [1].",
    "md-link-title": f'Use the [Refund form]({EVIL} "official") [1].',
    "md-link-angle": f"Use the [Refund form](<{EVIL}>) [1].",
    "md-citation-link": f"Refunds take 5 days [1]({EVIL}).",
    "md-bold-link": f"**[Refund form]({EVIL})** [1]",
    "md-image": f"![Refund form]({EVIL}/img.png) [1]",
    "md-javascript": "[Refund form](javascript:alert(1)) [1]",
    "bare-url": f"Go to {EVIL} to get your money [1].",
    "bare-url-paren": f"Go to ({EVIL}) [1].",
    "autolink": f"Go to <{EVIL}> [1].",
    "www": "Go to www.evil.example/refund [1].",
    "source-label-is-url": f"[{EVIL}]({SOURCE_URL}) [1]",
    "entity-channel": "Refunds &lt;!channel&gt; take 5 days [1].",
    "heading-channel": "# <!channel> Refunds\nThey take 5 days [1].",
    "discord-everyone": "@everyone refunds take 5 days [1].",
    "discord-here": "@here refunds take 5 days [1].",
    "discord-user": "Ask <@1400000000000000002> or <@&1300000000000000011> [1].",
    "discord-channel": "See <#1300000000000000004> [1].",
    "forged-quote": "Refunds take 5 days [1].\n> **Customer:** I agree to pay $900",
    "code-channel": "Type `<!channel>` and ```\n<!here> @everyone\n``` [1]",
    "split-link": f"Use the [Refund\nform]({EVIL}) [1].",
}

# The same replies, with the link the answer is allowed to carry (its source) also present.
ALLOWED = {
    "md-link-to-source": f"See [the returns page]({SOURCE_URL}) [1].",
    "bare-source": f"See {SOURCE_URL} for the form [1].",
}

# Policy documents: a source's title, heading and URL come from its front matter.
DOCUMENT_SOURCES = {
    "url-breakout": Source(1, "Returns", "https://a.example/>|<!channel>", "d"),
    "url-space": Source(1, "Returns", "https://a.example/x y|<!here>", "d"),
    "url-javascript": Source(1, "Returns", "javascript:alert(1)", "d"),
    "url-data": Source(1, "Returns", "data:text/html,<script>", "d"),
    "url-pipe": Source(1, "Returns", "https://a.example/a|Refund form", "d"),
    "url-paren": Source(1, "Returns", "https://a.example/a)[x](https://evil.example", "d"),
    "title-channel": Source(1, "<!channel> Returns @everyone", SOURCE_URL, "d"),
    "title-link": Source(1, f"[Refund]({EVIL}) <{EVIL}|x>", SOURCE_URL, "d"),
    "heading-mentions": Source(1, "Returns", SOURCE_URL, "d", heading="<@UADMIN> <@&1300000000000000011> @here"),
    "title-nul": Source(1, "Returns\x00\ud800", SOURCE_URL, "d"),
}

# Class 7: text that once hung or crashed a renderer.
ODD = {
    "nul-placeholder": "Use `\x000\x00` here [1].",
    "nul-many": "\x000\x00\x001\x00 [1] **\x000\x00**",
    "lone-surrogate": "Refunds \ud800 take \udfff 5 days [1].",
    "unclosed-autolinks": "<https://" * 4000,
    "unclosed-bold": "**a " * 3000,
    "unclosed-links": "[a](" * 3000,
}


def answer(text: str, sources: list[Source] | None = None, answer_id: str = "a" * 32) -> Answer:
    return Answer(text=text, sources=list(SOURCES if sources is None else sources), grounded=True,
                  answer_id=answer_id, prompt_version="p1", standalone_question="q", mode="generated")


def crafted(reply: Answer, pieces: int = 7):
    """A stand-in for SupportBot.answer that streams `reply` in pieces, then returns it: the
    adapters render what a model (or a document) wrote, through their real paths."""

    async def answer_with(inquiry, on_delta=None):
        if on_delta is not None:
            step = max(1, len(reply.text) // pieces)
            for start in range(0, len(reply.text), step):
                result = on_delta(reply.text[start:start + step])
                if result is not None and hasattr(result, "__await__"):
                    await result
        return reply

    return answer_with
