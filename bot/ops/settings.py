"""The `[ops]` settings: where long-running workers serve /metrics, /healthz and /readyz."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OpsSettings(BaseModel):
    """Socket Mode and Discord workers serve the endpoints on a port of their own; Slack in HTTP
    mode serves them beside its events path instead. The command line never serves them."""

    model_config = {"extra": "forbid"}
    port: int = Field(
        9102, ge=0, le=65535,
        description="metrics and health port of Socket Mode and Discord workers; 0 switches it off",
    )
    host: str = Field("0.0.0.0", description="interface to listen on; 127.0.0.1 keeps it on the machine")
    readiness_timeout_s: float = Field(
        2.0, gt=0, le=30, description="how long one readiness check (index, Weaviate, platform) may take",
    )
    max_loop_lag_s: float = Field(
        5.0, gt=0, le=600,
        description="/healthz fails when the event loop has not run a heartbeat for this long",
    )
