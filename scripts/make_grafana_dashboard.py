"""Writes config/grafana/supportbot.json: the Grafana dashboard over the bot's Prometheus metrics
(bot/ops/metrics.py). Import it in Grafana (Dashboards > New > Import) and pick your Prometheus.

    python scripts/make_grafana_dashboard.py
"""

from __future__ import annotations

import json
from pathlib import Path

DS = {"type": "prometheus", "uid": "${datasource}"}
ANSWERED = 'mode=~"generated|extractive|declined"'


def panel(title: str, targets: list[tuple[str, str]], *, kind: str = "timeseries", unit: str = "short",
          width: int = 12, description: str = "") -> dict:
    return {"type": kind, "title": title, "description": description, "datasource": DS,
            "gridPos": {"w": width, "h": 8},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"datasource": DS, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
                        for i, (expr, legend) in enumerate(targets)]}


def quantile(q: float, metric: str, by: str) -> str:
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket[5m])))"


PANELS = [
    panel("Questions answered, declined and refused", [
        ("sum by (mode) (rate(supportbot_answers_total[5m])) * 60", "{{mode}}")], unit="short",
        description="Answers per minute by how they were made: generated, extractive (the model failed or "
                    "none is configured), declined, limited (rate limit), rejected, unavailable (index down)."),
    panel("Decline rate and cache hit rate", [
        (f'sum(rate(supportbot_answers_total{{mode="declined"}}[15m])) / sum(rate(supportbot_answers_total{{{ANSWERED}}}[15m]))',
         "declined"),
        (f'sum(rate(supportbot_answers_total{{cached="true",{ANSWERED}}}[15m])) / sum(rate(supportbot_answers_total{{{ANSWERED}}}[15m]))',
         "from the cache")], unit="percentunit"),
    panel("Answer latency", [(quantile(0.5, "supportbot_answer_seconds", "cached"), "p50 cached={{cached}}"),
                             (quantile(0.95, "supportbot_answer_seconds", "cached"), "p95 cached={{cached}}")],
          unit="s"),
    panel("Stage latency, p95", [(quantile(0.95, "supportbot_stage_seconds", "stage"), "{{stage}}"),
                                 (quantile(0.95, "supportbot_post_seconds", "platform"), "post to {{platform}}")],
          unit="s", description="rewrite, embed, search, model first token, model total, compose; posting "
                                "the answer to Slack or Discord."),
    panel("Helpful rate by prompt version (last 24 h)", [
        ('sum by (prompt_version) (increase(supportbot_feedback_total{helpful="true"}[1d])) / '
         "sum by (prompt_version) (increase(supportbot_feedback_total[1d]))", "{{prompt_version}}")],
        unit="percentunit", description="A prompt edit makes a new version: compare the lines."),
    panel("Hand-overs to a person", [("sum by (event) (increase(supportbot_escalations_total[1h]))", "{{event}}")]),
    panel("Model fallbacks", [("sum by (step, error) (increase(supportbot_model_fallbacks_total[1h]))",
                               "{{step}}: {{error}}")],
          description="Model calls that failed; the bot answered from the policy text instead."),
    panel("Rate-limited questions and dropped retries", [
        ("sum by (platform) (increase(supportbot_rate_limited_total[1h]))", "rate limited ({{platform}})"),
        ("sum by (source) (increase(supportbot_duplicate_deliveries_total[1h]))", "retries dropped ({{source}})"),
        ('sum by (platform) (increase(supportbot_posts_total{outcome="failed"}[1h]))', "posts failed ({{platform}})")]),
    panel("Redis", [("min(supportbot_redis_up)", "up")], kind="stat", width=6,
          description="0: the circuit breaker is open; the bot answers without cache and memory."),
    panel("Index generation", [("max(supportbot_index_generation)", "generation")], kind="stat", width=6),
    panel("Last reindex", [("max(supportbot_reindex_last_success)", "succeeded"),
                           ("max(supportbot_reindex_last_duration_seconds)", "seconds")], kind="stat", width=6),
    panel("Since the last reindex", [("time() - max(supportbot_reindex_last_finished_timestamp_seconds) > 0",
                                      "age")], kind="stat", unit="s", width=6,
          description="Only workers that ran a reindex report it; the others show nothing."),
]


def dashboard() -> dict:
    x = y = 0
    for number, item in enumerate(PANELS, start=1):
        width = item["gridPos"]["w"]
        if x + width > 24:
            x, y = 0, y + 8
        item["gridPos"].update(x=x, y=y)
        item["id"] = number
        x += width
    return {
        "title": "supportbot", "uid": "supportbot", "tags": ["supportbot"], "timezone": "utc",
        "schemaVersion": 39, "version": 1, "refresh": "1m", "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "label": "Prometheus"}]},
        "panels": PANELS,
    }


if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "config" / "grafana" / "supportbot.json"
    target.write_text(json.dumps(dashboard(), indent=2) + "\n", encoding="utf-8")
    print(target)
