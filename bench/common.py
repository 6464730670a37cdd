"""What the bench scripts share: the repository on sys.path, quiet logs, percentiles, and the
doc2dial corpus from ../shared/data indexed into a scratch data directory."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "doc2dial" / "corpus.jsonl"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def quiet() -> None:
    from bot.logs import configure_logging

    configure_logging("ERROR")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def describe(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.1f} ms, p95 {percentile(values, 0.95):.1f} ms"


def corpus_settings(data_dir: Path, **overrides):
    """Settings that index the doc2dial corpus (public) into data_dir, with no servers."""
    from bot.settings import KnowledgeSource, RateLimitSettings, load_settings

    if not CORPUS.is_file():
        sys.exit(f"The evaluation corpus is not at {CORPUS}; see ../shared/data.")
    return load_settings(None, data_dir=data_dir, knowledge=[KnowledgeSource(path=CORPUS, audience="public")],
                         prompts_dir=REPO / "prompts", rate_limit=RateLimitSettings(enabled=False), **overrides)
