"""The session's real Redis under a key prefix of the test's own (tests/state/conftest.py)."""

from tests.state.conftest import prefix  # noqa: F401  (a fixture, found by name)
