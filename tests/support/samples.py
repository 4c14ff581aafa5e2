"""The official SDK sample packages shipped in tests/data/samples, and ways to vary them."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
ALL_SAMPLES = sorted(p.name for p in SAMPLES.glob("*.edxml"))
DOCUMENT_SAMPLES = [n for n in ALL_SAMPLES if n.startswith("edoc_")]
STATUS_SAMPLES = [n for n in ALL_SAMPLES if n.startswith("status")]
# written by the Java SDK itself (the status_*_NN ones were edited by hand upstream)
SDK_EXACT_SAMPLES = [
    "edoc_replacement.edxml",
    "edoc_revocation.edxml",
    "edoc_update.edxml",
    "status.edxml",
]


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sample_text(name: str) -> str:
    return sample_bytes(name).decode("utf-8")


def edited(name: str, old: str, new: str, count: int = 1) -> bytes:
    """A sample with `old` replaced by `new` (the text must be there)."""
    text = sample_text(name)
    assert old in text, f"{old!r} not in {name}"
    return text.replace(old, new, count).encode("utf-8")
