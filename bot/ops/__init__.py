"""Running the bot in production: metrics, health and readiness, and what the service reports.

observer.py  the hook object the service calls at a few points (answers, fallbacks, hand-overs…)
metrics.py   that observer as Prometheus metrics (prometheus-client), one registry per bot
health.py    liveness (/healthz) and readiness (/readyz) checks
server.py    the aiohttp routes for /metrics, /healthz, /readyz: on the Slack HTTP app, or on a
             small port of their own for Socket Mode and Discord workers
"""
