"""Delivery rules: the job handler that every transport runs, and the operator's actions.

The job handler (`DeliveryHandler`), for a `document`/`status` job:

1. load the delivery (a short read). Unknown, or no longer `pending` (delivered, acknowledged,
   cancelled, failed) → done: a redelivered or duplicated job is a no-op;
2. poll-mode recipient → the copy is in its inbox (`sent_at` set at intake; set now if missing,
   e.g. the agency switched from push to poll) → done;
3. push-mode recipient → bytes = the stored package + this gateway's TraceHeader (streamed from
   slices of the stored bytes: gateway.edxml.trace.relay_parts, never a second copy), POSTed by
   `attempt_push` (per-endpoint slots and circuit breaker, HMAC headers, the same delivery id
   on every attempt) outside any transaction;
4. record the attempt in its own transaction (committed before the runtime acknowledges the
   job): attempts + 1, `last_error`; 2xx → `delivered` with `sent_at`, `delivered_at`,
   `legal_received_at` and a `delivery.delivered` audit event; giving up (permanent 4xx, or the
   retry budget spent) → `failed` with a `delivery.failed` audit event, and the runtime sends
   the job to the dead-letter queue. The same transaction notes the endpoint's health
   (gateway.delivery.health: a transient failure marks the agency failing, a 2xx clears it);
   a 2xx that ends a failure then closes the agency's open outage incident and drains its
   backlog (gateway.outages.service), after the commit.

`notice` jobs do the same for a notice to an original sender (gateway.packages.notices): POST
the JSON notice to a push-mode sender, or make it available in GET /notices.

`DeliveryAdmin` (never commits): list deliveries, resend failed ones (singly or in bulk by
agency; a new retry round, most urgent first: gateway.delivery.requeue; audited with the
reason), cancel them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..db import Database, utcnow
from ..edxml.trace import relay_parts
from ..errors import Conflict, NotFound, ValidationFailed
from ..observability.logging import request_id_var
from ..observability.observe import observer_for
from ..packages.arrival import mark_entered
from ..registry.endpoint_policy import plain_http_refused, refusal_message
from ..registry.endpoint_secret import push_url
from ..registry.models import Agency
from ..secretbox import SecretBox, SecretBoxError
from ..settings import Settings
from ..uow import write_session
from ..workdays.cache import CalendarCache
from .backoff import RetryPolicy
from .breaker import EndpointGuard
from .health import HealthLog
from .jobs import DeliveryJob, HandlerResult
from .push import PushClient
from .push_attempt import AttemptResult, PushTarget, attempt_push
from .recovery import recovered
from .repository import DeliveryRepository
from .requeue import Requeue
from .results import ResultBatch

log = logging.getLogger(__name__)

DONE_STATES = ("delivered", "acknowledged", "cancelled", "failed")
RESENDABLE = ("failed",)
CANCELLABLE = ("failed", "pending")
JSON_TYPE = "application/json"
DUPLICATE_DELAY = timedelta(seconds=1)


@dataclass(frozen=True)
class _Recorded:
    """A push result as committed, for what follows the commit."""

    recipient: str
    at: datetime
    failing_since: datetime | None
    observed: str
    delivered_at: datetime | None
    queued_at: datetime


class DeliveryHandler:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        client: PushClient,
        guard: EndpointGuard,
        policy: RetryPolicy,
        box: SecretBox | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.client = client
        self.guard = guard
        self.policy = policy
        self.box = box or settings.secret_box()
        self.calendars = CalendarCache(db, settings)  # operators' changes included
        self.clock = clock
        self.results = ResultBatch(db)
        self._in_flight: set[str] = set()

    async def __call__(self, job: DeliveryJob) -> HandlerResult:
        # a duplicate of a job this process is handling right now (a republished outbox row,
        # a redelivery) waits instead of pushing the same copy twice at once; afterwards it
        # finds the delivery done. (Across processes the recipient de-duplicates by id.)
        if job.delivery_id in self._in_flight:
            return HandlerResult.retry(
                DUPLICATE_DELAY, "the same delivery is in flight here", count_attempt=False
            )
        self._in_flight.add(job.delivery_id)
        token = request_id_var.set(job.request_id)  # logs join the intake request's
        try:
            if job.kind == "notice":
                result = await self._notice(job)
            else:
                result = await self._delivery(job)
            log.info(
                "%s %s to %s (attempt %d): %s %s",
                job.kind,
                job.delivery_id,
                job.recipient,
                job.attempt,
                result.kind,
                result.reason,
                extra={
                    "delivery_id": job.delivery_id,
                    "package_id": job.package_id,
                    "recipient": job.recipient,
                    "attempt": job.attempt,
                    "outcome": result.kind,
                },
            )
            return result
        finally:
            request_id_var.reset(token)
            self._in_flight.discard(job.delivery_id)

    def _push_url(self, agency: Agency) -> str | None:
        """The endpoint with its credentials, if they were sealed (registry.endpoint_secret)."""
        try:
            return push_url(agency.endpoint_url, agency.endpoint_url_sealed, self.box)
        except SecretBoxError:
            return None  # sealed under a key this gateway no longer has: cannot push

    def _secret(self, sealed: str | None) -> str | None:
        if not sealed:
            return None
        try:
            return self.box.open(sealed)
        except SecretBoxError:
            return None

    # --- package copies ------------------------------------------------------------------
    async def _delivery(self, job: DeliveryJob) -> HandlerResult:
        async with self.db.read_session() as session:
            repo = DeliveryRepository(session)
            found = await repo.copy_to_deliver(job.delivery_id)
            if found is None:
                return HandlerResult.done("unknown delivery")
            delivery, agency, package_exists, raw, size = found
            del found  # the row: `raw` is the one reference to the package's bytes
            if delivery.state != "pending":
                return HandlerResult.done(f"already {delivery.state}")
            push = agency is not None and agency.delivery_mode == "push" and agency.endpoint_url
            if not push:
                needs_marking = delivery.sent_at is None
            else:
                if raw is None and size is not None:  # a large package: one buffer, in slices
                    raw = await repo.package_in_slices(delivery.package_id, size)
                if not package_exists or raw is None:
                    return HandlerResult.done("package gone")
                url = self._push_url(agency)
                secret = self._secret(agency.push_secret_sealed) if url else None  # type: ignore[union-attr]
                started = delivery.retry_from or delivery.queued_at
                production = self.settings.environment == "production"
                test_endpoint = agency.test_endpoint  # type: ignore[union-attr]
                insecure = plain_http_refused(production, url, test_endpoint)
        if not push:
            if needs_marking:
                await self._mark_available(job.delivery_id)
            return HandlerResult.done("available in the recipient's inbox")
        if insecure:  # registered before the rule, or the environment changed since
            reason = refusal_message(delivery.recipient_code, url)
            await self._record_failure(job.delivery_id, reason)
            return HandlerResult.dead(reason)
        if secret is None:
            reason = (
                "no usable push secret for the agency "
                "(rotate it: POST /admin/agencies/{code}/push-secret)"
            )
            await self._record_failure(job.delivery_id, reason)
            return HandlerResult.dead(reason)
        now = self.clock()
        node = self.settings.node_code
        body = await anyio.to_thread.run_sync(relay_parts, raw, node, now)
        del raw  # held by `body`'s slices only, and let go with them after the push
        target = PushTarget(url, secret, body)  # type: ignore[arg-type]
        del body
        attempt = await attempt_push(
            job, target, client=self.client, guard=self.guard, policy=self.policy,
            elapsed=now - started,
        )  # fmt: skip
        del target  # not kept through the recording transaction
        if not attempt.called:
            if attempt.result.kind == "dead":
                await self._record_failure(job.delivery_id, attempt.result.reason)
            else:  # parked or busy endpoint: not called, waits (gateway.observability.metrics)
                observer_for(self.db).delivery_attempt(outcome="deferred", recipient=job.recipient)
            return attempt.result
        return await self._record(job, attempt)

    async def _mark_available(self, delivery_id: str) -> None:
        calendar = await self.calendars.get()
        async with write_session(self.db) as session:
            delivery = await DeliveryRepository(session).delivery(delivery_id, lock=True)
            if delivery is not None and delivery.state == "pending" and delivery.sent_at is None:
                now = self.clock()
                delivery.sent_at = now
                delivery.legal_received_at = calendar.legal_receipt_time(now)
                delivery.updated_at = now

    async def _record(self, job: DeliveryJob, attempt: AttemptResult) -> HandlerResult:
        outcome = attempt.outcome
        assert outcome is not None
        result = attempt.result
        calendar = await self.calendars.get()

        async def write(session: AsyncSession) -> _Recorded | HandlerResult:
            repo = DeliveryRepository(session)
            delivery, endpoint_failing = await repo.locked_with_health(job.delivery_id)
            if delivery is None:
                return HandlerResult.done("delivery gone")
            now = self.clock()
            delivery.attempts += 1
            delivery.updated_at = now
            if delivery.state != "pending":
                return HandlerResult.done(f"already {delivery.state}")
            recipient = delivery.recipient_code
            # the endpoint's health (gateway.delivery.health); a permanent 4xx says nothing
            health = HealthLog(session)
            failing_since = None
            if outcome.delivered and endpoint_failing:  # healthy: nothing to write
                failing_since = await health.success(recipient, at=now)
            elif outcome.transient:
                await health.failure(recipient, at=now, error=outcome.reason)
            audit = AuditLog(session)
            data = {
                "package_id": delivery.package_id,
                "recipient": delivery.recipient_code,
                "attempt": job.attempt,
                "status": outcome.status,
            }
            if outcome.delivered:
                sent = outcome.sent_at or now
                delivery.state = "delivered"
                delivery.sent_at = sent
                delivery.delivered_at = outcome.finished_at or now
                delivery.legal_received_at = calendar.legal_receipt_time(sent)
                mark_entered(delivery, delivery.delivered_at, "push", calendar)  # the 2xx
                delivery.last_error = None
                observed = "delivered"
                await audit.append(
                    "delivery.delivered",
                    actor="gateway:push",
                    subject=f"delivery:{delivery.id}",
                    at=now,
                    data=data,
                )
            else:
                delivery.last_error = outcome.reason[:2000]
                observed = "failed" if result.kind == "dead" else result.kind
                if result.kind == "dead":
                    delivery.state = "failed"
                    await audit.append(
                        "delivery.failed",
                        actor="gateway:push",
                        subject=f"delivery:{delivery.id}",
                        at=now,
                        data={**data, "reason": result.reason[:500]},
                    )
            delivered_at = delivery.delivered_at if observed == "delivered" else None
            queued_at = delivery.queued_at
            return _Recorded(recipient, now, failing_since, observed, delivered_at, queued_at)

        # in one transaction with the results of the pushes finishing alongside (results.py)
        done = await self.results.run(job.delivery_id, write)
        if isinstance(done, HandlerResult):
            return done
        if done.failing_since is not None:  # this 2xx ended a failure: close incident, drain
            await recovered(self.db, calendar, done.recipient, at=done.at)  # delivery.recovery
        # after the commit: one report per push attempt (gateway.observability.metrics)
        observer_for(self.db).delivery_attempt(
            outcome=done.observed,
            recipient=job.recipient,
            latency_seconds=(
                (done.delivered_at - done.queued_at).total_seconds() if done.delivered_at else None
            ),
            push_seconds=outcome.elapsed.total_seconds() if outcome.elapsed else None,
        )
        return result

    async def _record_failure(self, delivery_id: str, reason: str) -> None:
        async with write_session(self.db) as session:
            delivery = await DeliveryRepository(session).delivery(delivery_id, lock=True)
            if delivery is None or delivery.state != "pending":
                return
            now = self.clock()
            delivery.state = "failed"
            delivery.last_error = reason[:2000]
            delivery.updated_at = now
            await AuditLog(session).append(
                "delivery.failed",
                actor="gateway:push",
                subject=f"delivery:{delivery.id}",
                at=now,
                data={"recipient": delivery.recipient_code, "reason": reason[:500]},
            )
            recipient = delivery.recipient_code
        observer_for(self.db).delivery_attempt(outcome="failed", recipient=recipient)

    # --- notices to senders --------------------------------------------------------------
    async def _notice(self, job: DeliveryJob) -> HandlerResult:
        async with self.db.read_session() as session:
            repo = DeliveryRepository(session)
            notice = await repo.notice(job.delivery_id)
            if notice is None or notice.state != "pending":
                return HandlerResult.done("notice already handled")
            agency = await repo.agency(notice.agency_code)
            push = agency is not None and agency.delivery_mode == "push" and agency.endpoint_url
            payload = dict(notice.payload)
            created = notice.created_at
            url = self._push_url(agency) if push else None
            secret = self._secret(agency.push_secret_sealed) if url else None  # type: ignore[union-attr]
        if not push or secret is None:
            # poll-mode sender (or no usable secret): the notice waits in GET /notices
            await self._settle_notice(job.delivery_id, "available", None)
            return HandlerResult.done("notice available for polling")
        now = self.clock()
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        attempt = await attempt_push(
            job,
            PushTarget(url, secret, body, content_type=JSON_TYPE),  # type: ignore[arg-type]
            client=self.client,
            guard=self.guard,
            policy=self.policy,
            elapsed=now - created,
        )
        if attempt.outcome is not None and attempt.outcome.delivered:
            await self._settle_notice(job.delivery_id, "delivered", None)
        elif attempt.result.kind == "dead":
            # a notice that cannot be pushed still reaches the sender by polling
            reason = attempt.outcome.reason if attempt.outcome else attempt.result.reason
            await self._settle_notice(job.delivery_id, "available", reason)
            return HandlerResult.done("push gave up; notice available for polling")
        elif attempt.outcome is not None:
            await self._settle_notice(job.delivery_id, None, attempt.outcome.reason)
        return attempt.result

    async def _settle_notice(self, notice_id: str, state: str | None, error: str | None) -> None:
        async with write_session(self.db) as session:
            notice = await DeliveryRepository(session).notice(notice_id)
            if notice is None or notice.state != "pending":
                return
            now = self.clock()
            if error is not None or state == "delivered":
                notice.attempts += 1
            notice.last_error = error[:2000] if error else None
            if state is not None:
                notice.state = state
                notice.sent_at = now
                if state == "delivered":
                    notice.delivered_at = now


# ------------------------------------------------------------------------ operator actions


class DeliveryAdmin:
    """Operator actions on deliveries. Never commits."""

    MAX_BULK = 10_000

    def __init__(self, session: AsyncSession, actor: str, clock: Callable[[], datetime] = utcnow):
        self.session = session
        self.actor = actor
        self.repo = DeliveryRepository(session)
        self.audit = AuditLog(session)
        self.clock = clock

    async def list(
        self,
        *,
        states: Sequence[str] | None = None,
        agency: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ):
        return await self.repo.deliveries(states=states, agency=agency, limit=limit, offset=offset)

    async def resend(
        self,
        ids: Sequence[str] | None = None,
        *,
        agency: str | None = None,
        reason: str,
    ) -> list[str]:
        """Resend failed deliveries: by id (each must exist and be failed) or every failed
        delivery to `agency`. Returns the ids resent."""
        reason = (reason or "").strip()
        if not reason:
            raise ValidationFailed(
                "Cần lý do (reason) khi gửi lại", en="A reason is required to resend"
            )
        if ids:
            rows = await self.repo.deliveries(ids=ids, limit=len(ids) + 1, lock=True)
            found = {d.id: d for d in rows}
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFound(
                    "Không có bản gửi: " + ", ".join(missing),
                    en="No such deliveries: " + ", ".join(missing),
                )
            wrong = {d.id: d.state for d in rows if d.state not in RESENDABLE}
            if wrong:
                raise Conflict(
                    "Chỉ gửi lại được bản gửi ở trạng thái failed",
                    en="Only failed deliveries can be resent",
                    details={"states": wrong},
                )
        elif agency:
            if await self.repo.agency(agency) is None:
                raise NotFound(f"Không có cơ quan mã {agency}", en=f"No agency with code {agency}")
            rows = await self.repo.deliveries(
                states=RESENDABLE, agency=agency, limit=self.MAX_BULK, lock=True
            )
        else:
            raise ValidationFailed(
                "Cần danh sách bản gửi hoặc mã cơ quan (agency)",
                en="Give delivery ids or an agency code",
            )
        await Requeue(self.session, self.actor).line_up(rows, now=self.clock(), reason=reason)
        return [d.id for d in rows]

    async def cancel(self, delivery_id: str, *, reason: str):
        reason = (reason or "").strip()
        if not reason:
            raise ValidationFailed(
                "Cần lý do (reason) khi hủy", en="A reason is required to cancel"
            )
        d = await self.repo.delivery(delivery_id, lock=True)
        if d is None:
            raise NotFound(f"Không có bản gửi {delivery_id}", en=f"No delivery {delivery_id}")
        if d.state not in CANCELLABLE:
            raise Conflict(
                "Chỉ hủy được bản gửi ở trạng thái failed hoặc pending",
                en="Only failed or pending deliveries can be cancelled",
                details={"state": d.state},
            )
        now = self.clock()
        previous = d.state
        d.state = "cancelled"
        d.cancelled_at = now
        d.updated_at = now
        await self.audit.append(
            "delivery.cancelled",
            actor=self.actor,
            subject=f"delivery:{d.id}",
            at=now,
            data={"reason": reason, "previous_state": previous, "recipient": d.recipient_code},
        )
        await self.session.flush()
        return d
