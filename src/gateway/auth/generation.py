"""Telling every process that credentials changed (used by gateway.auth.cache).

A transaction that adds, changes or deletes a row of CREDENTIAL_TABLES through the ORM bumps
the one-row `auth_generation` counter in the same transaction (other processes read it), and
its commit bumps this process's epoch (this process's caches drop everything at once). The
listeners are registered when gateway.auth.models is imported, i.e. in every process that can
change a credential (server, CLI, tests).
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from .models import AuthGeneration

# tables whose rows make up a Principal or decide whether a credential is valid
CREDENTIAL_TABLES = frozenset(
    {
        "api_keys",
        "client_certificates",
        "agency_systems",
        "system_agencies",
        "operators",
        "vxp_credentials",
    }
)

_epoch = 0
"""This process's cache epoch: a cached entry is good only while the epoch it was loaded in
lasts. Bumped when this process commits a credential change or sees the counter move."""


def epoch() -> int:
    return _epoch


def invalidate_process() -> None:
    global _epoch
    _epoch += 1


# ----------------------------------------------------------- marking credential changes


def _touches_credentials(session: Session) -> bool:
    return any(
        getattr(obj, "__tablename__", None) in CREDENTIAL_TABLES
        for obj in chain(session.new, session.dirty, session.deleted)
    )


@event.listens_for(Session, "after_flush")
def _bump_generation(session: Session, _context: Any) -> None:
    # new/dirty/deleted still show what was just flushed; the bump is in the same
    # transaction, so other processes see it exactly when they can see the change
    if _touches_credentials(session):
        session.connection().execute(bump_statement())
        session.info["credentials_changed"] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop("credentials_changed", False):
        invalidate_process()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop("credentials_changed", None)


def bump_statement() -> Any:
    """The counter's bump, for code that changes credentials with Core statements (no ORM
    objects flushed): execute it in that transaction, and call invalidate_process() after
    the commit."""
    return (
        update(AuthGeneration).where(AuthGeneration.id == 1).values(value=AuthGeneration.value + 1)
    )
