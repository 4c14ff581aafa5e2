"""The language of the `gateway` command's own output: Vietnamese by default, English with
`--lang en` or GATEWAY_LANG=en. One choice per run, so an output never switches language."""

from __future__ import annotations

import os

LANGUAGES = ("vi", "en")
_chosen: str | None = None


def normalise(value: str | None) -> str | None:
    """'en', 'en-US', 'en_GB.UTF-8' → 'en'; 'vi…' → 'vi'; anything else → None."""
    if not value:
        return None
    head = value.strip().lower()[:2]
    return head if head in LANGUAGES else None


def choose(value: str | None) -> None:
    global _chosen
    _chosen = normalise(value)


def language() -> str:
    return _chosen or normalise(os.environ.get("GATEWAY_LANG")) or "vi"


def say(vi: str, en: str) -> str:
    """The message in the run's language (both versions kept side by side at the call)."""
    return en if language() == "en" else vi
