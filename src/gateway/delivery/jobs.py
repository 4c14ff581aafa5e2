"""The delivery job message and what a handler answers about it.

A job is the small, self-describing JSON document that travels through the broker: which
delivery to attempt, and how many attempts came before. The package bytes never travel with it
(the worker loads them by `package_id`), so messages stay tiny and the broker never holds
document content.

Parsing is strict — exact types, bounded sizes, no control characters in identifiers — so a
malformed or hostile message raises `MalformedJob` (a `ValueError`), which the consumer turns
into a dead letter instead of crashing. Unknown extra keys are ignored, so a newer producer can
add a field without older workers dead-lettering its jobs during a rolling upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_JOB_BYTES = 16 * 1024
"""A job is a few hundred bytes; anything far larger is not one of ours."""

URGENT_MIN_PRIORITY = 1
"""edXML OtherInfo/Priority: 0 is ordinary, 1–4 (khẩn, thượng khẩn, hỏa tốc, hỏa tốc hẹn giờ)
overtake ordinary documents."""

_Ident = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class MalformedJob(ValueError):
    """The bytes are not a valid delivery job. `reason` is safe to log and to put in a header."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeliveryJob(BaseModel):
    """One attempt to deliver one package to one recipient.

    `attempt` starts at 1 and grows by one each time the job goes through a retry tier;
    `delivery_id` never changes, so the recipient sees the same id on every attempt.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")

    delivery_id: _Ident
    package_id: _Ident
    recipient: _Ident
    attempt: int = Field(ge=1, le=100_000)
    priority: int = Field(ge=0, le=4)
    kind: str = Field(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_.-]*$")
    # the intake request's id (observability.logging): worker logs join intake's
    request_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")

    @property
    def urgent(self) -> bool:
        return self.priority >= URGENT_MIN_PRIORITY

    @property
    def message_id(self) -> str:
        """Stable per attempt: a re-publish of the same attempt carries the same id."""
        return f"{self.delivery_id}:{self.attempt}"

    def next_attempt(self) -> DeliveryJob:
        return self.model_copy(update={"attempt": self.attempt + 1})

    def to_bytes(self) -> bytes:
        # exclude_none: a job without a request id is byte-for-byte what older workers know
        return self.model_dump_json(exclude_none=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> DeliveryJob:
        """Parse a message body; raise `MalformedJob` (never anything else) when it is not a job."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedJob(f"body is {type(data).__name__}, not bytes")
        if len(data) > MAX_JOB_BYTES:
            raise MalformedJob(f"body is {len(data)} bytes, more than {MAX_JOB_BYTES}")
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJob(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                for err in exc.errors(include_url=False, include_input=False)[:5]
            )
            raise MalformedJob(f"not a delivery job: {problems}") from None
        except (ValueError, RecursionError) as exc:  # pragma: no cover - defensive
            raise MalformedJob(f"not a delivery job: {type(exc).__name__}") from None


ResultKind = Literal["done", "retry", "dead"]


@dataclass(frozen=True, slots=True)
class HandlerResult:
    """What a job handler decided; the consumer runtime acts on it, then acknowledges.

    - `done`: nothing more to do (delivered, or already done — a redelivered job is a no-op).
    - `retry`: come back after `delay` through a retry tier. `count_attempt=False` re-queues the
      same attempt (used when the endpoint was never called: parked by the circuit breaker, all
      its slots busy, or the handler itself failed unexpectedly).
    - `dead`: give up; the job goes to the dead-letter queue for an operator.
    """

    kind: ResultKind
    reason: str = ""
    delay: timedelta | None = None
    count_attempt: bool = True

    @classmethod
    def done(cls, reason: str = "") -> HandlerResult:
        return cls("done", reason)

    @classmethod
    def retry(
        cls, delay: timedelta, reason: str = "", *, count_attempt: bool = True
    ) -> HandlerResult:
        if delay <= timedelta(0):
            raise ValueError("a retry delay must be positive")
        return cls("retry", reason, delay, count_attempt)

    @classmethod
    def dead(cls, reason: str) -> HandlerResult:
        return cls("dead", reason)
