"""The report as one self-contained HTML file: inline CSS and SVG charts, no script, nothing
loaded from the network when it is opened. Jinja2 autoescapes every value, so customer text and
document titles stay text."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.reporting import Report
from bot.reporting.charts import helpful_by_prompt, questions_per_day
from bot.reporting.markdown import percent

_env = Environment(loader=PackageLoader("bot.reporting", "templates"),
                   autoescape=select_autoescape(["html", "j2"], default=True),
                   trim_blocks=True, lstrip_blocks=True)
_env.filters["percent"] = percent


def render(report: Report) -> str:
    template = _env.get_template("report.html.j2")
    return template.render(report=report, s=report.summary,
                           per_day=questions_per_day(report.summary.days),
                           helpful=helpful_by_prompt(report.summary.prompts),
                           safe_url=_safe_url)


def write(report: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path


def _safe_url(url: str) -> str:
    """Only http(s) links (a document's url); anything else is shown as text, not linked."""
    return url if url.startswith(("https://", "http://")) else ""
