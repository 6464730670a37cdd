"""Settings of conversation state in Redis: memory, the answer cache, connection and claims, rate
limits and signed buttons. Re-exported by bot.settings, which builds the whole object."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator


class MemorySettings(BaseModel):
    model_config = {"extra": "forbid"}
    max_turns: int = Field(8, ge=0, le=100)
    max_chars: int = Field(4000, ge=0, le=100_000)
    ttl_s: int = Field(7 * 24 * 3600, ge=60)


class CacheSettings(BaseModel):
    model_config = {"extra": "forbid"}
    enabled: bool = True
    ttl_s: int = Field(24 * 3600, ge=1)
    semantic: bool = Field(
        False, description="also answer paraphrases of cached questions (off until measured)"
    )
    semantic_min_similarity: float = Field(0.95, ge=0.5, le=1.0)
    semantic_backend: Literal["auto", "vector-index", "in-process"] = Field(
        "auto", description="how paraphrases are found: a Redis vector index (needs the query engine: "
        "Redis 8 or Redis Stack), a comparison in the bot's process, or auto (the index when the "
        "server has it)",
    )
    semantic_max_entries: int = Field(
        500, ge=1, le=100_000, description="in-process comparison only: questions kept per scope "
        "(the vector index keeps every cached answer until it expires)")
    wait_for_leader_s: float = Field(
        30.0, ge=0, le=600,
        description="how long a repeat question waits for an identical one already being answered",
    )


class RedisSettings(BaseModel):
    model_config = {"extra": "forbid"}
    key_prefix: str = Field("supportbot:", min_length=1)
    connect_timeout_s: float = Field(0.5, gt=0, le=30)
    socket_timeout_s: float = Field(0.5, gt=0, le=30)
    retry_after_s: float = Field(
        5.0, gt=0, le=600, description="after a failure, how long to skip Redis before trying again"
    )
    max_connections: int = Field(
        1000, ge=10, le=100_000, description="per worker; redis-py's default of 100 is too few under load"
    )
    event_ttl_s: int = Field(3600, ge=60, description="how long a platform event id is remembered")
    claim_budget_s: float = Field(
        0.3, gt=0, le=10, description="how long claiming an event id in Redis may take; past it the "
        "claim is kept in this worker's memory instead (a retried delivery is then not answered)")
    event_lease_s: float = Field(
        10.0, ge=0.5, le=60, description="how long a worker's claim on a Slack event lasts unless it renews "
        "it (every third of this while answering): a retry reaching another worker after the first one "
        "died is answered once this has lapsed, if that is within slack.hold_ack_s (so set it below that, "
        "e.g. 1.5 with 2, when turning that on). Longer survives longer stalls of a live worker "
        "(a stall past it can give two replies); shorter recovers sooner")
    answer_ttl_s: int = Field(
        30 * 24 * 3600, ge=3600, description="how long answers stay findable for buttons"
    )
    lock_ttl_s: float = Field(
        30.0, ge=1, le=600, description="how long the /reindex lock outlives a worker that died holding "
        "it; a running reindex renews it every third of this"
    )
    answer_log_max: int = Field(
        100_000, ge=100, le=10_000_000, description="questions kept in the answer log `supportbot "
        "report` reads (also trimmed to answer_ttl_s)")

    @model_validator(mode="after")
    def _lease_between_budget_and_ttl(self) -> RedisSettings:
        if self.event_lease_s < 3 * self.claim_budget_s:
            # Renewed every third of the lease, each renewal allowed the whole budget: shorter,
            # and a slow but healthy Redis would let a live worker's lease lapse.
            raise ValueError(f"event_lease_s ({self.event_lease_s:g}) must be at least 3 x claim_budget_s "
                             f"({self.claim_budget_s:g})")
        if self.event_lease_s >= self.event_ttl_s:
            raise ValueError(f"event_lease_s ({self.event_lease_s:g}) must be shorter than event_ttl_s "
                             f"({self.event_ttl_s})")
        return self


class RateLimitSettings(BaseModel):
    model_config = {"extra": "forbid"}
    enabled: bool = True
    burst: int = Field(5, ge=1, le=1000, description="questions a user may ask back to back")
    per_minute: float = Field(6.0, gt=0, le=6000, description="sustained questions per minute")


class ButtonSettings(BaseModel):
    """Signed buttons (bot/buttons.py): every button value is sealed with this secret."""

    model_config = {"extra": "forbid"}
    secret: SecretStr | None = Field(
        None, description="HMAC key for button values, 16+ characters; unset = made on first start and "
        "kept in Redis (<key_prefix>button-secret), or in <data_dir>/button-secret without Redis")
    ttl_s: int = Field(30 * 24 * 3600, ge=3600, description="how long a posted button keeps working")

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and 0 < len(secret.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (for example: python -c \"import secrets; "
                             "print(secrets.token_urlsafe(32))\")")
        return secret
