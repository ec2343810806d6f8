"""Provider singletons by kind. Imported lazily: the scripted provider needs no openai."""

from django.utils.module_loading import import_string

from collab.llm.base import Provider

PROVIDERS = {
    "openai": "collab.llm.openai_provider.OpenAIProvider",
    "scripted": "collab.llm.scripted.ScriptedProvider",
}
_instances: dict[str, Provider] = {}


def get_provider(kind: str) -> Provider:
    if kind not in PROVIDERS:
        raise ValueError(f"unknown provider kind {kind!r}; known kinds: {', '.join(sorted(PROVIDERS))}")
    if kind not in _instances:
        _instances[kind] = import_string(PROVIDERS[kind])()
    return _instances[kind]
