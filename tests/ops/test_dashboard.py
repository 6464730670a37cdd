"""The Grafana dashboard in config/ asks only for metrics the bot exports, by labels they have."""

from __future__ import annotations

import json
import re

from bot.ops.metrics import Metrics
from tests.conftest import REPO

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported() -> dict[str, set[str]]:
    """Every series name the bot's metrics produce -> the labels it carries."""
    series = {}
    for family in Metrics().registry.collect():
        if not family.name.startswith("supportbot_"):
            continue
        for suffix in SUFFIXES[family.type]:
            series[family.name + suffix] = set()
    metrics = Metrics()
    for metric in vars(metrics).values():
        names = getattr(metric, "_labelnames", None)
        if names is None:
            continue
        for name in series:
            if name.startswith(metric._name):
                series[name] |= set(names) | ({"le"} if name.endswith("_bucket") else set())
    return series


def test_every_series_the_dashboard_queries_exists_with_those_labels():
    dashboard = json.loads((REPO / "config" / "grafana" / "supportbot.json").read_text())
    series = exported()
    for expr in (t["expr"] for p in dashboard["panels"] for t in p["targets"]):
        used = re.findall(r"(supportbot_\w+)(\{[^}]*\})?", expr)
        assert used, expr
        for name, selector in used:
            assert name in series, f"{name} in {expr!r} is not exported"
            assert set(re.findall(r"(\w+)\s*=~?", selector)) <= series[name], expr
        for grouping in re.findall(r"by \(([^)]*)\)", expr):
            labels = set().union(*(series[name] for name, _ in used))
            assert {g.strip() for g in grouping.split(",")} <= labels, expr
