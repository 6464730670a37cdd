"""The Slack adapter's fixtures (mock Web API, Redis prefix, settings, harness), shared with the ops
tests that drive deliveries through it."""

from tests.adapters.slack.conftest import (  # noqa: F401  (fixtures, found by name)
    _no_slack_tokens,
    bot_settings,
    fake_slack,
    harness,
    redis_prefix,
)
