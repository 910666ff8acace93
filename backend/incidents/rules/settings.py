"""Reading and setting a hub's detection rules, on-call contact and escalation delay."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.incidents.rules.registry import BY_KIND, RULES
from backend.incidents.rules.repository import DetectionRepository
from backend.incidents.rules.schemas import (
    HubIncidentRulesRead,
    HubIncidentRulesWrite,
    IncidentRuleRead,
    OnCallContact,
)
from backend.lib.errors import Invalid, NotFound


class HubIncidentRulesService:
    def __init__(self, session: AsyncSession, *, default_escalation_minutes: int) -> None:
        self.session = session
        self.repo = DetectionRepository(session)
        self.default_escalation_minutes = default_escalation_minutes

    async def read(self, hub_id: UUID) -> HubIncidentRulesRead:
        if not await self.repo.hub_exists(hub_id):
            raise NotFound("No such hub")
        return await self._read(hub_id)

    async def replace(self, hub_id: UUID, data: HubIncidentRulesWrite) -> HubIncidentRulesRead:
        _check(data)
        if not await self.repo.lock_hub(hub_id):
            raise NotFound("No such hub")
        await self.repo.replace_rules(
            hub_id, [(r.kind, r.threshold, r.severity, r.enabled) for r in data.rules]
        )
        contact = data.on_call
        if contact is None and data.escalation_minutes is None:
            await self.repo.save_settings(hub_id, None)
        else:
            await self.repo.save_settings(
                hub_id,
                {
                    "on_call_name": contact.name if contact else None,
                    "on_call_phone": contact.phone if contact else None,
                    "on_call_email": contact.email if contact else None,
                    "escalation_minutes": data.escalation_minutes,
                },
            )
        return await self._read(hub_id)

    async def _read(self, hub_id: UUID) -> HubIncidentRulesRead:
        # The rules' defaults in code, then the default rows, then the hub's own rows.
        settings = {
            rule.kind: IncidentRuleRead(
                kind=rule.kind,
                threshold=rule.default_threshold,
                unit=rule.unit,
                severity=rule.default_severity,
                enabled=True,
                inherited=True,
            )
            for rule in RULES
        }
        for row in await self.repo.rules_of(hub_id):
            rule = BY_KIND.get(row["kind"])
            if rule is not None:
                settings[rule.kind] = IncidentRuleRead(
                    kind=rule.kind,
                    threshold=row["threshold"],
                    unit=rule.unit,
                    severity=row["severity"],
                    enabled=row["enabled"],
                    inherited=not row["own"],
                )
        own = await self.repo.settings_of(hub_id)
        minutes = own["escalation_minutes"] if own else None
        contact = (
            OnCallContact(
                name=own["on_call_name"], phone=own["on_call_phone"], email=own["on_call_email"]
            )
            if own and own["on_call_name"]
            else None
        )
        return HubIncidentRulesRead(
            hub_id=hub_id,
            rules=[settings[rule.kind] for rule in RULES],
            on_call=contact,
            escalation_minutes=minutes or self.default_escalation_minutes,
            escalation_inherited=minutes is None,
        )


def _check(data: HubIncidentRulesWrite) -> None:
    """What the schema cannot say: one entry per rule, each threshold within its rule's range,
    a contact reachable somehow."""
    seen: set[str] = set()
    for index, item in enumerate(data.rules):
        if item.kind in seen:
            raise Invalid(
                f"{item.kind} is listed twice", field=f"rules[{index}].kind", code="duplicate_rule"
            )
        seen.add(item.kind)
        rule = BY_KIND[item.kind]
        if not rule.minimum <= item.threshold <= rule.maximum:
            raise Invalid(
                f"The threshold of {rule.kind} is in {rule.unit.replace('_', ' ')},"
                f" {rule.minimum} to {rule.maximum}",
                field=f"rules[{index}].threshold",
                code="threshold_out_of_range",
            )
    if data.on_call is not None and not (data.on_call.phone or data.on_call.email):
        raise Invalid(
            "An on-call contact needs a phone or an e-mail address",
            field="on_call.phone",
            code="contact_unreachable",
        )
