"""One settings object, built once in each entry point and passed down.

Sources, strongest first: environment variables (``SUPPORTBOT_…``, nested with ``__``), a ``.env``
file, the TOML settings file (``config/supportbot.toml`` unless ``--config`` or
``SUPPORTBOT_CONFIG`` names another), then the defaults below. Relative paths are relative to the
working directory, which for a checkout is the repository root.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# Re-exported: the adapters and tests import every settings section from here.
from bot.platform_settings import DiscordSettings, SlackSettings  # noqa: F401

DEFAULT_CONFIG_FILE = Path("config/supportbot.toml")

# The TOML file's contents for the Settings() call in progress; a context variable rather than
# a class attribute so that two settings objects built at once never see each other's file.
_file_values: ContextVar[dict[str, Any]] = ContextVar("supportbot_file_values", default={})


class SettingsError(Exception):
    """Settings that cannot be used, with a message that says what to change."""


class KnowledgeSource(BaseModel):
    """A folder (or a single JSONL corpus) of policy documents and who may read it."""

    model_config = {"extra": "forbid"}
    path: Path
    audience: Literal["public", "staff"] = "public"


class ChunkingSettings(BaseModel):
    model_config = {"extra": "forbid"}
    chunk_size: int = Field(1000, ge=200, le=8000, description="characters per chunk")
    chunk_overlap: int = Field(150, ge=0, le=2000)

    @model_validator(mode="after")
    def _overlap_smaller_than_chunk(self) -> ChunkingSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


class RetrievalSettings(BaseModel):
    model_config = {"extra": "forbid"}
    top_k: int = Field(6, ge=1, le=50, description="passages given to the answerer")
    candidates: int = Field(50, ge=5, le=1000, description="results per search before fusion")
    alpha: float = Field(0.5, ge=0.0, le=1.0, description="1 = vector only, 0 = BM25 only")
    min_similarity: float = Field(
        0.46, ge=-1.0, le=1.0,
        description="grounding threshold: best passage's cosine similarity below this declines",
    )
    max_context_chars: int = Field(7000, ge=500, le=100_000)
    # A message in a thread is searched on its own words and with the thread's earlier messages;
    # these weigh its own words in the blended ranking (the rest goes to the thread's context).
    follow_up_question_weight: float = Field(
        0.2, ge=0.0, le=1.0, description="own words' weight for a message that points back"
    )
    new_question_weight: float = Field(
        0.5, ge=0.0, le=1.0, description="own words' weight for a message that reads as new"
    )
    document_support_weight: float = Field(
        0.5, ge=0.0, le=2.0,
        description="share of a page's second-best passage score added to each of its passages",
    )
    min_agreement: float = Field(
        0.2, ge=-1.0, le=1.0,
        description="a new-looking message grounded only by the thread's context needs this "
        "cosine between its own words and one of the passages the context found",
    )
    languages: list[str] = Field(
        default_factory=lambda: ["en"],
        description="ISO 639-1 codes of the languages the knowledge base is written in; a question "
        "clearly in another gets prompts/language.md and a human (empty: no check)",
    )

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if not (len(code) == 2 and code.isalpha() and code.islower()):
                raise ValueError(f"{code!r} is not a two-letter ISO 639-1 code such as 'en' or 'fr'")
        return codes


class EmbeddingSettings(BaseModel):
    model_config = {"extra": "forbid"}
    provider: str = Field(
        "local-minilm",
        description="'local-minilm' (bundled, offline) or 'package.module:ClassName' of any "
        "LangChain Embeddings class",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments for it")
    batch_size: int = Field(4, ge=1, le=1024, description="texts per model call")


class LLMSettings(BaseModel):
    model_config = {"extra": "forbid"}
    model: str = "claude-sonnet-4-5"
    base_url: str | None = None
    max_tokens: int = Field(800, ge=50, le=8192)
    temperature: float = Field(0.2, ge=0.0, le=1.0)
    timeout_s: float = Field(30.0, gt=0, le=600)
    max_retries: int = Field(1, ge=0, le=10)
    rewrite_followups: bool = Field(True, description="rewrite follow-ups with the model")


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
    semantic_max_entries: int = Field(500, ge=1, le=20_000, description="per audience and generation")
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
    answer_ttl_s: int = Field(
        30 * 24 * 3600, ge=3600, description="how long answers stay findable for buttons"
    )


class RateLimitSettings(BaseModel):
    model_config = {"extra": "forbid"}
    enabled: bool = True
    burst: int = Field(5, ge=1, le=1000, description="questions a user may ask back to back")
    per_minute: float = Field(6.0, gt=0, le=6000, description="sustained questions per minute")


class WeaviateSettings(BaseModel):
    """Weaviate as the policy index. Unset url: the embedded local index is used instead."""

    model_config = {"extra": "forbid"}
    url: str | None = Field(
        None, description="REST endpoint, e.g. http://localhost:8080 or https://<cluster>.weaviate.cloud; "
        "WEAVIATE_URL is used when this is not set",
    )
    grpc_host: str | None = Field(None, description="default: the url's host (grpc-<host> on Weaviate Cloud)")
    grpc_port: int | None = Field(None, ge=1, le=65535, description="default: 50051, or 443 for https")
    grpc_secure: bool | None = Field(None, description="default: true when the url is https")
    api_key: SecretStr | None = Field(None, description="Weaviate Cloud or API-key auth; or WEAVIATE_API_KEY")
    collection: str = Field(
        "SupportbotPolicies", pattern=r"^[A-Z][A-Za-z0-9_]{0,120}$",
        description="the alias searches use; full rebuilds create <collection>_v<generation> behind it",
    )
    init_timeout_s: float = Field(3.0, gt=0, le=60, description="connecting and startup checks")
    query_timeout_s: float = Field(5.0, gt=0, le=300, description="one search or read")
    insert_timeout_s: float = Field(30.0, gt=0, le=600, description="one batch write or schema change")
    batch_size: int = Field(200, ge=1, le=5000, description="objects per batch request")
    refresh_s: float = Field(2.0, ge=0, le=3600,
                             description="how soon another process's reindex is noticed (generation)")
    multi_tenancy: bool = Field(
        False, description="one knowledge base per Slack workspace / Discord server (Weaviate tenants)",
    )

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (for example http://localhost:8080)")
        return url.rstrip("/") if url else url


def _default_knowledge() -> list[KnowledgeSource]:
    return [
        KnowledgeSource(path=Path("config/knowledge/public"), audience="public"),
        KnowledgeSource(path=Path("config/knowledge/staff"), audience="staff"),
    ]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SUPPORTBOT_",
        env_nested_delimiter="__",
        env_file=".env",
        # .env may also hold other tools' variables (SLACK_BOT_TOKEN…): only SUPPORTBOT_* are ours to check.
        dotenv_filtering="match_prefix",
        extra="forbid",
        validate_default=True,
        populate_by_name=True,
    )

    company_name: str = "Harbor & Pine Outfitters"
    data_dir: Path = Path(".supportbot")
    prompts_dir: Path = Path("prompts")
    knowledge: list[KnowledgeSource] = Field(default_factory=_default_knowledge)
    max_question_chars: int = Field(2000, ge=20, le=20_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

    anthropic_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SUPPORTBOT_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY")
    )
    llm: LLMSettings = Field(default_factory=LLMSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    redis_url: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SUPPORTBOT_REDIS_URL", "REDIS_URL"),
        description="redis://[:password@]host:6379/0; unset = in-process state for one process",
    )
    redis: RedisSettings = Field(default_factory=RedisSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    weaviate: WeaviateSettings = Field(default_factory=WeaviateSettings)
    # The conventional variable names; they fill weaviate.url / weaviate.api_key when those are unset.
    weaviate_url_env: str | None = Field(None, validation_alias=AliasChoices("WEAVIATE_URL"), exclude=True)
    weaviate_api_key_env: SecretStr | None = Field(
        None, validation_alias=AliasChoices("WEAVIATE_API_KEY"), exclude=True)

    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SUPPORTBOT_DISCORD_TOKEN", "DISCORD_TOKEN", "DISCORD_BOT_TOKEN"))
    discord: DiscordSettings = Field(default_factory=DiscordSettings)

    @model_validator(mode="after")
    def _weaviate_from_conventional_env(self) -> Settings:
        changes: dict[str, Any] = {}
        if self.weaviate.url is None and self.weaviate_url_env:
            changes["url"] = self.weaviate_url_env
        if self.weaviate.api_key is None and self.weaviate_api_key_env:
            changes["api_key"] = self.weaviate_api_key_env
        if changes:
            self.weaviate = WeaviateSettings.model_validate(
                {**self.weaviate.model_dump(), **changes})
        return self

    @property
    def llm_enabled(self) -> bool:
        return bool(self.anthropic_api_key and self.anthropic_api_key.get_secret_value())

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_settings = InitSettingsSource(settings_cls, _file_values.get())
        return init_settings, env_settings, dotenv_settings, file_settings


def config_file_path(explicit: Path | str | None = None) -> Path | None:
    """The settings file to read: the one asked for, SUPPORTBOT_CONFIG, or the default if present."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get("SUPPORTBOT_CONFIG"):
        return Path(env)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the settings, turning every problem into one SettingsError that says what to fix."""
    path = config_file_path(config_file)
    values = _read_toml(path) if path else {}
    token = _file_values.set(values)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_explain(exc, path)) from None
    finally:
        _file_values.reset(token)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(
            f"Settings file {path} does not exist. Create it (see config/supportbot.toml in the "
            "repository) or leave out --config / SUPPORTBOT_CONFIG to use the defaults."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"Settings file {path} is not valid TOML: {exc}. Fix that line.") from None
    except OSError as exc:
        raise SettingsError(f"Settings file {path} cannot be read: {exc.strerror}.") from None


def _explain(exc: ValidationError, path: Path | None) -> str:
    where = f"{path} or SUPPORTBOT_* environment variables" if path else "SUPPORTBOT_* environment variables"
    lines = [f"Invalid settings ({exc.error_count()} problem(s)); check {where}:"]
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "(settings)"
        env_name = "SUPPORTBOT_" + "__".join(str(p).upper() for p in error["loc"] if isinstance(p, str))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting (a typo?)"
        hide = error["type"] == "missing" or "key" in name or "token" in name  # never echo a secret back
        got = "" if hide else f" (got {error.get('input')!r})"
        lines.append(f"  - {name}: {message}{got}  [env: {env_name}]")
    return "\n".join(lines)
