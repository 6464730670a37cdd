"""The HTML report on its own: well-formed, every untrusted value escaped, nothing fetched from the
network when it is opened; and, where Debian's chromium is installed, rendered and screenshotted."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.reporting import Report
from bot.reporting import html as html_report
from bot.reporting.gaps import Gap, NearestDocument
from bot.reporting.records import AnswerEvent, EscalationEvent, ReportData, Vote
from bot.reporting.summary import summarise

NOW = datetime(2026, 6, 8, 9, 0, tzinfo=UTC)
EVIL = '"><img src=x onerror=alert(1)><script>fetch("https://evil.example")</script>'


def sample_report() -> Report:
    data = ReportData(since=NOW - timedelta(days=7), until=NOW)
    for day in range(7):
        for n in range(10 + 3 * day):
            mode = "declined" if n % 4 == 0 else "generated"
            version = "v1aaaaaa" if day < 4 else "v2bbbbbb"
            data.answers.append(AnswerEvent(NOW - timedelta(days=6 - day, hours=n % 8), f"a{day}-{n}", "slack",
                                            "", mode, n % 5 == 0, "public", version, EVIL if n == 0 else "q"))
        data.escalations.append(EscalationEvent(NOW - timedelta(days=6 - day), f"e{day}", "slack", EVIL, ""))
        data.votes += [Vote(NOW - timedelta(days=6 - day), f"a{day}-1", "v1aaaaaa" if day < 4 else "v2bbbbbb",
                            helpful=(day + k) % 3 != 0, question="q") for k in range(4)]
    gaps = [
        Gap(12, [EVIL, "where is my parcel & why?", "track <b>order</b>"], Counter({"declined": 9, "escalated": 3}),
            NearestDocument(EVIL, "javascript:alert(1)", 0.31, covers=False)),
        Gap(5, ["gift wrap?"], Counter({"not helpful": 5}),
            NearestDocument("Orders & shipping", "https://help.example.com/orders?a=1&b=2", 0.62, covers=True)),
        Gap(2, ["loyalty points expiry"], Counter({"declined": 2}), None),
    ]
    return Report(title=f"Shop {EVIL}", summary=summarise(data), gaps=gaps, gap_questions=19,
                  gap_questions_left_out=0, nearest_documents=True)


@pytest.fixture(scope="module")
def page() -> str:
    return html_report.render(sample_report())


def test_the_page_is_well_formed(page):
    root = ET.fromstring(page.split("\n", 1)[1])  # after <!DOCTYPE html>: XHTML-clean markup
    assert root.tag == "html"
    assert len(root.findall(".//svg")) == 2 and len(root.findall(".//svg/rect")) > 14
    assert len(root.findall(".//div[@class='gap']")) == 3


def test_every_untrusted_value_is_escaped(page):
    assert "<script" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;" in page and "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "track &lt;b&gt;order&lt;/b&gt;" in page and "where is my parcel &amp; why?" in page


def test_nothing_is_fetched_when_the_page_opens(page):
    elements = list(ET.fromstring(page.split("\n", 1)[1]).iter())
    assert not {e.tag for e in elements} & {"script", "link", "img", "iframe", "object", "embed", "image",
                                             "video", "audio", "source", "base"}
    attributes = {name for e in elements for name in e.attrib}
    assert not attributes & {"src", "srcset", "xlink:href", "background", "poster"}
    assert not any(name.startswith("on") for name in attributes)
    styles = "".join(e.text or "" for e in elements if e.tag == "style")
    assert "url(" not in styles and "@import" not in styles
    # The only links are document urls of our index, and only http(s) ones.
    assert [e.get("href") for e in elements if "href" in e.attrib] == ["https://help.example.com/orders?a=1&b=2"]


def test_the_summary_figures_are_shown(page):
    report = sample_report()
    assert f'<div class="value">{report.summary.total.asked}</div>' in page
    assert "v1aaaaaa" in page and "v2bbbbbb" in page and "No document covers this." in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)")
def test_chromium_renders_the_report(tmp_path):
    target = html_report.write(sample_report(), tmp_path / "report.html")
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-background-networking", "--window-size=1000,1400", f"--screenshot={shot}", target.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1000, 1400)
    assert len(png) > 30_000  # a rendered page, not a blank one (a blank 1000x1400 PNG is ~5 KB)
