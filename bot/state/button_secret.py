"""The secret that signs button values (bot/buttons.py): configured, or made once and kept.

Every worker must sign and check with the same secret, and buttons already posted must keep
working after a restart, so a generated secret is stored where the workers share state:

- `buttons.secret` set (SUPPORTBOT_BUTTONS__SECRET): that one, always.
- else with a shared Redis: the key `<prefix>button-secret`, written once with SET NX (the first
  worker to start makes it, the others read it). It has no expiry.
- else (no Redis, or Redis not answering at start): the file `<data_dir>/button-secret`, made once
  with owner-only permissions. With Redis unreachable at start the worker says so: its buttons
  will not verify on other workers until they agree on a secret.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import structlog

from bot.settings import Settings
from bot.state.connection import RedisState, StateUnavailable

log = structlog.get_logger(__name__)
SECRET_FILE = "button-secret"


async def button_secret(settings: Settings, redis: RedisState) -> bytes:
    configured = settings.buttons.secret
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    if redis.shared:
        try:
            return await _from_redis(redis)
        except StateUnavailable:
            log.error("Redis is not answering at start: signing buttons with the secret in the data "
                      "folder; set buttons.secret so that every worker uses the same one",
                      file=str(settings.data_dir / SECRET_FILE))
    return secret_file(settings.data_dir / SECRET_FILE)


async def _from_redis(redis: RedisState) -> bytes:
    key = redis.key(SECRET_FILE)
    await redis.run(lambda r: r.set(key, secrets.token_urlsafe(32), nx=True))
    value = await redis.run(lambda r: r.get(key))
    if not value:  # deleted between the two calls: make it again
        return await _from_redis(redis)
    return value if isinstance(value, bytes) else value.encode()


def secret_file(path: Path) -> bytes:
    """The secret in `path`, made (readable by the owner only) if the file does not exist."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it a moment ago
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    log.warning("made a new button signing secret", file=str(path))
    return path.read_bytes().strip()
