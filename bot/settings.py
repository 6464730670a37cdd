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

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

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
        0.6, ge=0.0, le=1.0, description="own words' weight for a message that reads as new"
    )
    document_support_weight: float = Field(
        0.35, ge=0.0, le=2.0,
        description="share of a page's second-best passage score added to each of its passages",
    )
    min_agreement: float = Field(
        0.2, ge=-1.0, le=1.0,
        description="a new-looking message grounded only by the thread's context needs this "
        "cosine between its own words and one of the passages the context found",
    )


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
    max_entries: int = Field(2000, ge=1)


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
        hide = error["type"] == "missing" or "key" in name  # never echo a secret back
        got = "" if hide else f" (got {error.get('input')!r})"
        lines.append(f"  - {name}: {message}{got}  [env: {env_name}]")
    return "\n".join(lines)
