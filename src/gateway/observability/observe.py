"""Where the delivery worker reports what happened, for metrics (gateway.observability.metrics).

The worker runs in the server process (embedded queue) or alone (`gateway worker`); it knows
its `Database` but not the web app. An app (or a stand-alone worker that serves metrics)
attaches its observer to the `Database` it uses; the job handler asks `observer_for(db)` and
reports one call per push attempt. Without an observer the calls do nothing. This module
imports nothing from the rest of the gateway, so any layer may use it.
"""

from __future__ import annotations

from typing import Any, Protocol
from weakref import WeakKeyDictionary


class DeliveryObserver(Protocol):
    def delivery_attempt(
        self,
        *,
        outcome: str,
        recipient: str,
        latency_seconds: float | None = None,
        push_seconds: float | None = None,
    ) -> None:
        """`outcome`: delivered | retry | failed (dead-lettered) | deferred (endpoint parked or
        busy: not called). `latency_seconds`: queued → delivered, for `delivered`."""


class _Null:
    def delivery_attempt(self, **_kw: Any) -> None:
        return None


NULL: DeliveryObserver = _Null()
_observers: WeakKeyDictionary[Any, DeliveryObserver] = WeakKeyDictionary()


def attach(db: Any, observer: DeliveryObserver) -> None:
    _observers[db] = observer


def detach(db: Any) -> None:
    _observers.pop(db, None)


def observer_for(db: Any) -> DeliveryObserver:
    return _observers.get(db, NULL)
