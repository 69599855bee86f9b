"""Which model a run talks to: "provider:name", its key variable, its endpoint.

Nothing else in drafter knows provider names or key variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from drafter.core.errors import InputError

# The variable each hosted provider's LangChain integration reads its key from.
KEY_VARIABLES: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "google_genai": "GOOGLE_API_KEY",
    "mistralai": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "fireworks": "FIREWORKS_API_KEY",
    "together": "TOGETHER_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "xai": "XAI_API_KEY",
}
# Providers whose integration package drafter declares as an extra (pyproject.toml).
EXTRAS = ("anthropic", "ollama")
# Local OpenAI-compatible servers ignore the key, but the SDK refuses to start without one.
LOCAL_KEY = "not-needed"


@dataclass(frozen=True)
class ModelRef:
    """A model as "provider:name" plus the endpoint it is reached at (None: the provider's)."""

    provider: str
    name: str
    base_url: str | None = None

    @classmethod
    def parse(cls, model: str, base_url: str | None) -> ModelRef:
        provider, colon, name = model.partition(":")
        if colon and provider and name:
            return cls(provider, name, base_url)
        if base_url:  # a bare model name on an OpenAI-compatible server
            return cls("openai", model, base_url)
        raise InputError(
            f"model {model!r} names no provider: write provider:name, e.g. openai:gpt-4o-mini"
        )

    @property
    def id(self) -> str:
        return f"{self.provider}:{self.name}"

    @property
    def key_variable(self) -> str | None:
        return KEY_VARIABLES.get(self.provider)

    def api_key(self, *, replaying: bool) -> str:
        """The key to send; a local endpoint or a replayed cassette needs none."""
        variable = self.key_variable
        key = os.environ.get(variable) if variable else None
        if key:
            return key
        if self.base_url or replaying or variable is None:
            return LOCAL_KEY
        raise InputError(
            f"{variable} is not set: export it to use {self.provider} models, or point "
            "--base-url at a local OpenAI-compatible server"
        )

    def install_hint(self) -> str:
        if self.provider in EXTRAS:
            return f"{self.provider} models need an extra: pip install 'drafter[{self.provider}]'"
        package = "langchain-" + self.provider.replace("_", "-")
        return f"{self.provider} models need LangChain's integration: pip install {package}"


def secrets() -> list[str]:
    """The values of the provider key variables set now (short values are no key)."""
    values = (os.environ.get(variable, "") for variable in KEY_VARIABLES.values())
    return [value for value in values if len(value) >= 8]
