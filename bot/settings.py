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
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# Re-exported: the adapters and tests import every settings section from here.
from bot.answering.settings import LLMSettings, RetrievalSettings, ThroughputSettings  # noqa: F401
from bot.knowledge.settings import (  # noqa: F401
    ChunkingSettings,
    EmbeddingSettings,
    KnowledgeSource,
    WeaviateSettings,
)
from bot.ops.settings import OpsSettings
from bot.platform_settings import DiscordSettings, SlackSettings  # noqa: F401
from bot.state.settings import (  # noqa: F401
    ButtonSettings,
    CacheSettings,
    MemorySettings,
    RateLimitSettings,
    RedisSettings,
)

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
