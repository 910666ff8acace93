"""Every status change of an application goes through `move`: checked against the machine,
recorded with who, when and why, told to the applicant, and announced as
`courier.status_changed` in the outbox (the webhook deliveries pick it up from there)."""

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.couriers.messages import ApplicantMessages, status_text
from backend.couriers.models import CourierApplication, CourierTransition
from backend.couriers.repository import CourierRepository
from backend.couriers.state import check_transition
from backend.lib.clock import utcnow
from backend.outbox.service import OutboxService

STATUS_CHANGED_TOPIC = "courier.status_changed"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # applicant | staff | system | provider
    id: UUID | None = None

    @classmethod
    def of(cls, principal: Principal) -> "Actor":
        if principal.role == "applicant":
            return cls("applicant")
        return cls("staff", principal.user_id)


SYSTEM = Actor("system")


async def move(
    session: AsyncSession,
    application: CourierApplication,
    target: str,
    actor: Actor,
    reason: str | None = None,
) -> None:
    check_transition(application.status, target)
    now = utcnow()
    previous, application.status, application.status_changed_at = application.status, target, now
    repo = CourierRepository(session)
    repo.add(
        CourierTransition(
            application_id=application.id,
            from_status=previous,
            to_status=target,
            actor_kind=actor.kind,
            actor_id=actor.id,
            reason=reason,
            at=now,
        )
    )
    await repo.flush()
    await ApplicantMessages(session).queue(
        application, f"status_{target}", status_text(target, reason)
    )
    await OutboxService(session).announce(
        STATUS_CHANGED_TOPIC,
        [
            {
                "application_id": str(application.id),
                "driver_id": str(application.driver_id) if application.driver_id else None,
                "from_status": previous,
                "to_status": target,
                "reason": reason,
                "at": now.isoformat(),
            }
        ],
    )
