"""Who may say what about a document: the status codes of Decision 28/2018/QĐ-TTg.

A status package names a document (ResponseFor/DocumentId, or the issuer's Code) and the
agency it goes to (ResponseFor/OrganId). The gateway links it to a document only when the
status's sender is a party to that document in the right role:

- 01–06, 15, 16 come from a recipient of the document (or the recipient's successor after a
  merge) and go to the document's sender;
- 13 (take back) comes from the document's sender (or its successor) and goes to a recipient.

Refusals (nothing is stored): a sender that is not a party (403 STATUS_SENDER_NOT_PARTY), a
code its role may not send (403 STATUS_ROLE_NOT_ALLOWED), a status addressed to someone who
is not the other party (422 STATUS_ADDRESSEE_MISMATCH, so a status about A's document never
reaches C), any status after 02 or 06 on the same copy (409 STATUS_AFTER_FINAL), and a 15/16
answering no open request — a 13 or a revoke/update sent to that recipient (409
STATUS_NO_TAKE_BACK_REQUEST). Skipped steps (05 after 01) are accepted with the warning
STATUS_STEP_SKIPPED; a status about a document the gateway never carried is routed unlinked
with the warning STATUS_DOCUMENT_UNKNOWN (it may predate the gateway or travel other axes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..edxml import BusinessDocType, FindingCode, StatusCode, StatusPackage
from ..edxml.errors import warning
from ..errors import Conflict, Forbidden, ValidationFailed
from ..registry.repository import AgencyRepository
from ..registry.service import Route
from .models import BusinessStatus, Delivery, Package
from .repository import PackageRepository

RESPONSE_FOR = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/ResponseFor"
STATUS_PATH = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/StatusCode"

FINAL = {StatusCode.REFUSED.value, StatusCode.DONE.value}
ANSWERS = {StatusCode.AGREE.value, StatusCode.REFUSE_REQUEST.value}
# the processing steps in order; 02 (refused) is the alternative to 03 (accepted)
STEPS = ("01", "03", "04", "05", "06")
_RANK = {code: i for i, code in enumerate(STEPS)} | {"02": 1}


class StatusSenderNotParty(Forbidden):
    code = "STATUS_SENDER_NOT_PARTY"
    default_message = "Cơ quan gửi trạng thái không phải là bên nhận/gửi của văn bản này"
    description = "The status's sender neither received nor sent the document it names"


class StatusRoleNotAllowed(Forbidden):
    code = "STATUS_ROLE_NOT_ALLOWED"
    default_message = "Cơ quan này không được gửi mã trạng thái này cho văn bản"
    description = "01–06, 15, 16 only from a recipient of the document; 13 only from its sender"


class StatusAddresseeMismatch(ValidationFailed):
    code = "STATUS_ADDRESSEE_MISMATCH"
    default_message = "ResponseFor/OrganId không phải là bên còn lại của văn bản"
    description = "A status must go to the document's sender (13: to one of its recipients)"


class StatusAfterFinal(Conflict):
    code = "STATUS_AFTER_FINAL"
    default_message = "Văn bản đã ở trạng thái cuối (02 từ chối hoặc 06 hoàn thành)"
    description = "A status after 02 (refused) or 06 (done) on the same copy"


class StatusNoTakeBackRequest(Conflict):
    code = "STATUS_NO_TAKE_BACK_REQUEST"
    default_message = "Không có yêu cầu lấy lại/cập nhật nào đang chờ trả lời (mã 13)"
    description = "A 15/16 answer without an open take-back (13) or revoke/update request"


STATUS_ERRORS = (
    StatusSenderNotParty,
    StatusRoleNotAllowed,
    StatusAddresseeMismatch,
    StatusAfterFinal,
    StatusNoTakeBackRequest,
)


@dataclass
class StatusDecision:
    """The document a status is linked to (None: unknown to the gateway), the copy it
    concerns, the recipient agency of that copy, and warnings for the intake answer."""

    original: Package | None = None
    delivery: Delivery | None = None
    agency: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)


class StatusRules:
    def __init__(self, session: AsyncSession):
        self.repo = PackageRepository(session)
        self.agencies = AgencyRepository(session)
        self._chains: dict[str, set[str]] = {}

    async def decide(self, st: StatusPackage, route: Route) -> StatusDecision:
        rf = st.response_for
        take_back = st.status_code == StatusCode.TAKE_BACK.value
        sender = st.sender_id
        addressee = {c for c in (rf.organ_id, route.final) if c}
        candidates = await self.repo.originals_for_status(
            rf.document_id, rf.code, issuers={sender, *addressee}
        )
        sender_party = role_clash = addressee_identified = False
        outsider: Package | None = None
        # a copy revoked before it was delivered was never received; but its recipient got the
        # revoke itself, and may answer it (15/16)
        live = ("cancelled",) if st.status_code not in ANSWERS else ()
        for doc in candidates:
            copies = [d for d in await self.repo.deliveries_of(doc.id) if d.state not in live]
            sender_issued = await self._is(sender, doc.sender_code)
            sender_copy = await self._copy_of({sender}, copies)
            addressee_issued = any([await self._is(a, doc.sender_code) for a in addressee])
            addressee_copy = await self._copy_of(addressee, copies, successors=False)
            if take_back and sender_issued and addressee_copy:
                return await self._checked(st, doc, addressee_copy)
            if not take_back and sender_copy and addressee_issued:
                return await self._checked(st, doc, sender_copy)
            sender_party |= sender_issued or sender_copy is not None
            role_clash |= (take_back and sender_copy is not None) or (
                not take_back and sender_issued
            )
            addressee_identified |= addressee_copy is not None if take_back else addressee_issued
            if addressee_identified and outsider is None:
                outsider = doc
        details = {"document_id": rf.document_id, "status_code": st.status_code}
        if role_clash:
            who = "cơ quan gửi văn bản" if take_back else "cơ quan nhận văn bản"
            raise StatusRoleNotAllowed(
                f"Mã trạng thái {st.status_code} chỉ do {who} gửi", details=details
            )
        if sender_party:
            other = "một cơ quan nhận" if take_back else "cơ quan gửi"
            raise StatusAddresseeMismatch(
                f"Trạng thái về văn bản {rf.document_id} phải gửi cho {other} của văn bản, "
                f"không phải {rf.organ_id}",
                details={**details, "response_for": rf.organ_id},
            )
        if addressee_identified:
            raise StatusSenderNotParty(
                f"Cơ quan {sender} không phải bên {'gửi' if take_back else 'nhận'} văn bản "
                f"{rf.document_id} nên không được gửi trạng thái {st.status_code} về văn bản này",
                details={**details, "original_package_id": outsider.id if outsider else None},
            )
        return StatusDecision(
            warnings=[
                warning(
                    FindingCode.STATUS_DOCUMENT_UNKNOWN,
                    f"Trục chưa chuyển văn bản {rf.document_id!r} giữa hai cơ quan này: "
                    "trạng thái được chuyển đi nhưng không gắn vào diễn biến văn bản nào.",
                    f"{RESPONSE_FOR}/DocumentId",
                ).as_dict()
            ]
        )

    async def _checked(self, st: StatusPackage, doc: Package, copy: Delivery) -> StatusDecision:
        """The order rules on one copy: nothing after a final status, answers need a request,
        skipped steps warn."""
        # concurrent statuses on one copy are checked one after the other (PostgreSQL; SQLite
        # intake already holds the single write turn)
        await self.repo.lock_delivery(copy.id)
        prior = await self.repo.statuses_of_delivery(copy.id)
        code = st.status_code
        final = next((s for s in prior if s.status_code in FINAL), None)
        if final is not None:
            raise StatusAfterFinal(
                f"Bản gửi cho {copy.recipient_code} đã có trạng thái {final.status_code} "
                f"({final.label}); không nhận thêm trạng thái {code}",
                details={"final": final.status_code, "delivery_id": copy.id},
            )
        decision = StatusDecision(doc, copy, copy.recipient_code)
        if code in ANSWERS and not await self._open_request(doc, copy, prior):
            raise StatusNoTakeBackRequest(
                f"Chưa có yêu cầu lấy lại (13) hay thu hồi/cập nhật nào gửi {copy.recipient_code} "
                f"đang chờ trả lời; không nhận trạng thái {code}",
                details={"delivery_id": copy.id},
            )
        if code in _RANK:
            reached = max(
                (_RANK[s.status_code] for s in prior if s.status_code in _RANK), default=-1
            )
            missing = STEPS[reached + 1 : _RANK[code]]
            if missing:
                decision.warnings.append(
                    warning(
                        FindingCode.STATUS_STEP_SKIPPED,
                        f"Trạng thái {code} đến khi chưa có bước {', '.join(missing)}.",
                        STATUS_PATH,
                    ).as_dict()
                )
        return decision

    async def _open_request(
        self, doc: Package, copy: Delivery, prior: list[BusinessStatus]
    ) -> bool:
        requests = sum(1 for s in prior if s.status_code == StatusCode.TAKE_BACK.value)
        requests += await self.repo.requests_sent_to(
            doc.id,
            copy.recipient_code,
            business_types=(int(BusinessDocType.REVOKE), int(BusinessDocType.UPDATE)),
        )
        answers = sum(1 for s in prior if s.status_code in ANSWERS)
        return answers < requests

    async def _copy_of(
        self, codes: set[str], copies: list[Delivery], *, successors: bool = True
    ) -> Delivery | None:
        """The copy received by one of `codes` (directly, as addressed, or — for a sender —
        by an agency it succeeded after a merge)."""
        for d in copies:
            if d.recipient_code in codes or d.addressed_to in codes:
                return d
        if successors:
            for d in copies:
                if any([await self._is(c, d.recipient_code) for c in codes]):
                    return d
        return None

    async def _is(self, code: str, party: str) -> bool:
        """`code` is `party`, or succeeded it (merge chain in the registry)."""
        if code == party:
            return True
        return code in await self._successors(party)

    async def _successors(self, code: str) -> set[str]:
        if code not in self._chains:
            chain: set[str] = set()
            agency = await self.agencies.get(code)
            while agency is not None and agency.superseded_by and agency.superseded_by not in chain:
                chain.add(agency.superseded_by)
                agency = await self.agencies.get(agency.superseded_by)
            self._chains[code] = chain
        return self._chains[code]
