"""The chat model named by `[llm] model`, through LangChain's `init_chat_model` or an import path.

Three spellings, so a team on Bedrock, Vertex or a gateway chooses its model in the settings file:
- a bare model name LangChain can place: "claude-sonnet-5" (Anthropic), "gpt-4.1" (OpenAI);
- "provider:model", any provider `init_chat_model` knows: "anthropic:claude-sonnet-5",
  "bedrock_converse:anthropic.claude-3-5-sonnet-20240620-v1:0", "openai:gpt-4.1";
- "package.module:ClassName" of any LangChain chat model class, for one LangChain has no name for.
`[llm] options` are passed to the class as they are (a region, a project, credentials profile).
An Anthropic model's async calls go over aiohttp unless `[llm] http_transport = "httpx"`
(anthropic_transport.py says why).
The provider's package (langchain-openai, langchain-aws, …) is the team's to install; a missing
one is reported by name.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from bot.settings import Settings, SettingsError


@dataclass(frozen=True)
class ChatModelChoice:
    provider: str  # "anthropic", "openai", … or the class's import path
    model: BaseChatModel

    @property
    def is_anthropic(self) -> bool:
        """Prompt caching (cache_control blocks) is Anthropic's: only its models get it."""
        return self.provider == "anthropic"

    async def aclose(self) -> None:
        """Release the model's connections (an aiohttp session must be closed in its loop)."""
        if close := getattr(self.model, "aclose", None):
            await close()


def _is_import_path(model: str) -> bool:
    module, _, name = model.partition(":")
    return bool(name) and "." in module and name.isidentifier()


def provider_of(model: str) -> str:
    """The provider a model setting names, without importing anything heavy."""
    if _is_import_path(model):
        return model
    return _name_and_provider(model)[1]


def _name_and_provider(model: str) -> tuple[str, str]:
    """("claude-sonnet-5", "anthropic") for "anthropic:claude-sonnet-5" or the bare name."""
    from langchain.chat_models.base import _parse_model  # the rule init_chat_model itself uses

    try:
        return _parse_model(model, None)
    except ValueError:
        raise SettingsError(
            f"[llm] model = {model!r}: LangChain cannot tell which provider serves it. Write it as "
            "'provider:model' (for example 'anthropic:claude-sonnet-5' or 'openai:gpt-4.1'), or "
            "as 'package.module:ClassName' of a LangChain chat model class.") from None


def build_chat_model(settings: Settings) -> ChatModelChoice:
    llm = settings.llm
    provider = provider_of(llm.model)
    common: dict[str, Any] = {"temperature": llm.temperature, "max_tokens": llm.max_tokens,
                              "timeout": llm.timeout_s, "max_retries": llm.max_retries}
    if provider == "anthropic":
        common.update(api_key=settings.anthropic_api_key, base_url=llm.base_url)
    elif llm.base_url:
        common["base_url"] = llm.base_url
    kwargs = {**common, **llm.options}
    try:
        if _is_import_path(llm.model):
            module, _, name = llm.model.partition(":")
            cls = getattr(importlib.import_module(module), name)
            known = set(getattr(cls, "model_fields", {}))  # pass only what the class declares
            model = cls(**{k: v for k, v in kwargs.items() if k in known or k in llm.options})
        elif provider == "anthropic" and llm.http_transport == "aiohttp":
            from bot.answering.anthropic_transport import AioHttpChatAnthropic

            model = AioHttpChatAnthropic(model=_name_and_provider(llm.model)[0], **kwargs)
        else:
            from langchain.chat_models import init_chat_model

            model = init_chat_model(llm.model, **kwargs)
    except ImportError as exc:
        raise SettingsError(f"[llm] model = {llm.model!r} needs a package that is not installed "
                            f"({exc}); install the provider's LangChain package, for example "
                            "`pip install langchain-openai`.") from None
    except AttributeError:
        raise SettingsError(f"[llm] model = {llm.model!r}: no such class in that module.") from None
    return ChatModelChoice(provider=provider, model=model)
