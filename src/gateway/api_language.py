"""The language of the API's words for one request: Vietnamese by default, English when the
caller's `Accept-Language` prefers it (RFC 9110 quality values; `en-US` counts as `en`)."""

from __future__ import annotations

LANGS = ("vi", "en")
DEFAULT = "vi"


def negotiate(accept_language: str | None) -> str:
    best, best_q = DEFAULT, 0.0
    for item in (accept_language or "").split(","):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGS:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:  # the first of equal preferences wins
            best, best_q = primary, q
    return best
