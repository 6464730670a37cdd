"""One settings object, built once in each entry point and passed down.

Sources, strongest first: environment variables (``SUPPORTBOT_…``, nested with ``__``), a ``.env``
file, the TOML settings file (``--config``, else ``SUPPORTBOT_CONFIG``, else
``config/supportbot.toml`` in the working directory, else the project's own), then the defaults
below. Relative paths mean the same from any working directory: in the settings file, relative to
the file's folder; the defaults, relative to the project (the folder holding ``bot/``, which the
documented editable install leaves in the checkout); in the environment, relative to the working
directory, as shells expect.
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
from bot.ops.settings import OpsSettings
from bot.platform_settings import DiscordSettings, SlackSettings  # noqa: F401

# The folder holding the `bot` package: the checkout, with config/ and prompts/ beside it.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_FILE = Path("config/supportbot.toml")
# Settings that are paths, resolved as the module docstring says (knowledge[].path too).
PATH_KEYS = ("data_dir", "prompts_dir")

# The TOML file's contents for the Settings() call in progress; a context variable rather than
# a class attribute so that two settings objects built at once never see each other's file.
_file_values: ContextVar[dict[str, Any]] = ContextVar("supportbot_file_values", default={})


class SettingsError(Exception):
    """Settings that cannot be used, with a message that says what to change."""


class KnowledgeSource(BaseModel):
    """A folder (or a single JSONL corpus) of policy documents, or a LangChain document loader
    (bot/knowledge/connectors.py), and who may read it."""

    model_config = {"extra": "forbid"}
    path: Path | None = None
    loader: str | None = Field(
        None, description="'package.module:ClassName' of a LangChain document loader, instead of a "
        "path, e.g. 'langchain_community.document_loaders:SitemapLoader' (the connectors extra)")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments for the loader")
    name: str | None = Field(None, description="the loader's name in document ids and messages "
                             "(default: the class name); keep it stable, ids are made from it")
    url_key: str = Field("source", description="the loader's metadata key holding each page's URL")
    title_key: str = Field("title", description="the loader's metadata key holding each page's title")
    audience: Literal["public", "staff"] = "public"
    base_url: str | None = Field(
        None, description="where these documents are published; a document with no url of its own "
        "links to base_url + its path in the folder without the extension (store-hours.md -> "
        "<base_url>/store-hours)",
    )

    @model_validator(mode="after")
    def _path_or_loader(self) -> KnowledgeSource:
        if (self.path is None) == (self.loader is None):
            raise ValueError("give each [[knowledge]] source either a path (a folder of documents) or a "
                             "loader ('package.module:ClassName' of a LangChain document loader), not both")
        if self.loader is not None and (":" not in self.loader or "." not in self.loader.split(":")[0]):
            raise ValueError(f"loader {self.loader!r} must be 'package.module:ClassName', for example "
                             "'langchain_community.document_loaders:SitemapLoader'")
        return self

    @property
    def label(self) -> str:
        """How messages name this source: its folder, or its loader."""
        if self.path is not None:
            return str(self.path)
        return f"loader {self.name or self.loader.rsplit(':', 1)[-1]}"  # type: ignore[union-attr]

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (for example https://help.example.com/policies)")
        return url


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
    decline_model: dict[str, float] = Field(
        default_factory=dict,
        description="weights of the decline model (bot/answering/decline.py) as `supportbot eval` "
        "fits them: answer when bias + sum(weight * signal) >= 0; empty: the min_similarity / "
        "min_agreement rule",
    )
    languages: list[str] = Field(
        default_factory=lambda: ["en"],
        description="ISO 639-1 codes of the languages the knowledge base is written in; a question "
        "clearly in another gets prompts/language.md and a human (empty: no check)",
    )

    @field_validator("decline_model")
    @classmethod
    def _decline_signals(cls, model: dict[str, float]) -> dict[str, float]:
        from bot.answering.decline import FEATURES

        unknown = sorted(set(model) - {*FEATURES, "bias"})
        if unknown:
            raise ValueError(f"unknown signal(s) {', '.join(unknown)}; the model knows "
                             f"{', '.join(FEATURES)} and bias")
        return model

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


class ThroughputSettings(BaseModel):
    """How a burst of questions shares the machine (README "Scale out")."""
    model_config = {"extra": "forbid"}
    max_preparing: int = Field(
        8, ge=1, le=256, description="questions whose retrieval runs at once; the rest wait their turn "
        "in arrival order, so each answer waits for its own retrieval, not the whole burst's")
    query_batching: bool = Field(True, description="embed concurrent questions in one model call")
    query_batch_max: int = Field(32, ge=1, le=1024, description="texts in one batched embedding call")
    query_batch_window_ms: float = Field(
        2.0, ge=0, le=100, description="how long a burst's batch waits for more texts (a lone one: not at all)")


class LLMSettings(BaseModel):
    model_config = {"extra": "forbid"}
    model: str = Field(
        "claude-sonnet-4-5",
        description="a model name, 'provider:model' (any provider of LangChain's init_chat_model, "
        "e.g. 'bedrock_converse:…', 'openai:gpt-4.1') or 'package.module:ClassName' of a chat model",
    )
    options: dict[str, Any] = Field(default_factory=dict,
                                    description="keyword arguments passed to the chat model class")
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
    drop_grace_s: float = Field(
        60.0, ge=0, le=86_400,
        description="how long a collection (or team tenant) replaced by a full rebuild is kept, so "
        "searches that started on it finish; keep it above refresh_s + query_timeout_s",
    )
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
        KnowledgeSource(path=PROJECT_ROOT / "config" / "knowledge" / "public", audience="public"),
        KnowledgeSource(path=PROJECT_ROOT / "config" / "knowledge" / "staff", audience="staff"),
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
    data_dir: Path = PROJECT_ROOT / ".supportbot"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    knowledge: list[KnowledgeSource] = Field(default_factory=_default_knowledge)
    max_question_chars: int = Field(2000, ge=20, le=20_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = Field(
        None, description="default: INFO for the Slack and Discord workers, WARNING for commands")
    log_format: Literal["console", "json"] = "console"
    log_questions: bool = Field(False, description="put question text in log lines (off: ids only)")
    ops: OpsSettings = Field(default_factory=OpsSettings)

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
    throughput: ThroughputSettings = Field(default_factory=ThroughputSettings)
    buttons: ButtonSettings = Field(default_factory=ButtonSettings)
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

    @model_validator(mode="after")
    def _paths_from_environment_are_relative_to_the_working_directory(self) -> Settings:
        # The file's and the defaults' are absolute by now; what is left came from the environment.
        for name in PATH_KEYS:
            setattr(self, name, _absolute(getattr(self, name), Path.cwd()))
        self.knowledge = [source.model_copy(update={"path": _absolute(source.path, Path.cwd())})
                          if source.path is not None else source for source in self.knowledge]
        return self

    @property
    def llm_enabled(self) -> bool:
        """Anthropic models need ANTHROPIC_API_KEY (unset: extractive answers, offline); any other
        provider brings its own credentials (its environment variables or `llm.options`)."""
        if not self.llm.model.startswith("anthropic:") and not self.llm.model.startswith("claude"):
            return True
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
    """The settings file to read, as an absolute path: the one asked for, SUPPORTBOT_CONFIG,
    config/supportbot.toml in the working directory, or the project's own; None if none exists."""
    if explicit:
        return _absolute(Path(explicit), Path.cwd())
    if env := os.environ.get("SUPPORTBOT_CONFIG"):
        return _absolute(Path(env), Path.cwd())
    for candidate in (Path.cwd() / DEFAULT_CONFIG_FILE, PROJECT_ROOT / DEFAULT_CONFIG_FILE):
        if candidate.is_file():
            return candidate
    return None


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the settings, turning every problem into one SettingsError that says what to fix."""
    path = config_file_path(config_file)
    values = _paths_relative_to(path.parent, _read_toml(path)) if path else {}
    token = _file_values.set(values)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_explain(exc, path)) from None
    finally:
        _file_values.reset(token)


def _absolute(path: Path, base: Path) -> Path:
    """`path` against `base` unless already absolute, without '..' (error messages show it)."""
    path = path.expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def _paths_relative_to(folder: Path, values: dict[str, Any]) -> dict[str, Any]:
    """The settings file's relative paths made absolute against its folder (wrong types are left
    for validation to report)."""
    values = dict(values)
    for name in PATH_KEYS:
        if isinstance(values.get(name), str):
            values[name] = str(_absolute(Path(values[name]), folder))
    if isinstance(values.get("knowledge"), list):
        values["knowledge"] = [
            {**source, "path": str(_absolute(Path(source["path"]), folder))}
            if isinstance(source, dict) and isinstance(source.get("path"), str) else source
            for source in values["knowledge"]
        ]
    return values


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
        hide = error["type"] == "missing" or any(word in name for word in ("key", "token", "secret"))  # never echo a secret back
        got = "" if hide else f" (got {error.get('input')!r})"
        lines.append(f"  - {name}: {message}{got}  [env: {env_name}]")
    return "\n".join(lines)
