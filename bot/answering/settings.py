"""Settings of the answer path: retrieval and grounding, the chat model, and how a burst of
questions shares the machine. Re-exported by bot.settings, which builds the whole object."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator


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
    rerank_model: dict[str, float] = Field(
        default_factory=dict,
        description="weights of the re-ranker (bot/answering/reranking.py) as `supportbot eval` fits "
        "them: candidates ordered by sum(weight * feature); empty: blend and page support alone",
    )
    new_question_rerank_model: dict[str, float] = Field(
        default_factory=dict,
        description="weights of the re-ranker for a message in a thread that reads as a new question, "
        "over the features of its own search only (reranking.OWN_WORDS_FEATURES); empty: such a "
        "message keeps blend and page support",
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

        return _known_names(model, (*FEATURES, "bias"), "unknown signal(s) {}; the model knows {}")

    @field_validator("rerank_model")
    @classmethod
    def _rerank_features(cls, model: dict[str, float]) -> dict[str, float]:
        from bot.answering.reranking import FEATURES

        return _known_names(model, FEATURES, "unknown feature(s) {}; the re-ranker knows {}")

    @field_validator("new_question_rerank_model")
    @classmethod
    def _own_words_features(cls, model: dict[str, float]) -> dict[str, float]:
        from bot.answering.reranking import OWN_WORDS_FEATURES

        return _known_names(model, OWN_WORDS_FEATURES, "feature(s) {} cannot order a new question: it is "
                            "judged on its own words alone, by {}")

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if not (len(code) == 2 and code.isalpha() and code.islower()):
                raise ValueError(f"{code!r} is not a two-letter ISO 639-1 code such as 'en' or 'fr'")
        return codes


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
        "claude-sonnet-5",  # claude-sonnet-4-5 retires on 2026-11-30 (anthropic's DEPRECATED_MODELS)
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
    http_transport: Literal["aiohttp", "httpx"] = Field(
        "aiohttp", description="an Anthropic model's async HTTP client: aiohttp costs less CPU per "
        "answer under load than httpx's pool (bench/concurrency.py --transport)")
    rewrite_followups: bool = Field(True, description="rewrite follow-ups with the model")


def _known_names(model: dict[str, float], allowed: tuple[str, ...], complaint: str) -> dict[str, float]:
    """The model's weights if every name is one of `allowed`; else the complaint, naming the
    unknown names and the allowed ones (a typo in the settings file says what it should be)."""
    unknown = sorted(set(model) - set(allowed))
    if unknown:
        raise ValueError(complaint.format(", ".join(unknown), ", ".join(allowed)))
    return model
