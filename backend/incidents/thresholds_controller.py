"""Staff read and set a hub's detection rules, on-call contact and escalation delay."""

from uuid import UUID

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.auth.guards import staff_only
from backend.config import Settings
from backend.db.session import DbSession
from backend.incidents.rules.schemas import HubIncidentRulesRead, HubIncidentRulesWrite
from backend.incidents.rules.settings import HubIncidentRulesService
from backend.lib.errors import Invalid
from backend.lib.openapi import raises


class HubIncidentRulesController(Controller):
    path = "/v1/hubs/{hub_id:uuid}/incident-rules"
    tags = ["incidents"]
    guards = [staff_only]

    @get("", summary="A hub's incident detection rules")
    async def read_rules(
        self, hub_id: FromPath[UUID], db_session: DbSession, settings: NamedDependency[Settings]
    ) -> HubIncidentRulesRead:
        """Every detection rule as it applies to the hub (threshold in the rule's unit, severity,
        switch, and whether the default is inherited), its on-call contact and escalation delay
        (docs/incidents-detection.md). Admin and dispatcher.

        Errors: 401 `missing_token`; 403 `forbidden` (not staff); 404 `not_found` (no such hub).
        """
        service = HubIncidentRulesService(
            db_session, default_escalation_minutes=settings.incident_escalation_minutes
        )
        return await service.read(hub_id)

    @put(
        "",
        summary="Set a hub's incident detection rules",
        opt=raises((Invalid, "duplicate_rule", "threshold_out_of_range", "contact_unreachable")),
    )
    async def replace_rules(
        self,
        hub_id: FromPath[UUID],
        data: JSONBody[HubIncidentRulesWrite],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> HubIncidentRulesRead:
        """Replace the hub's own settings: the rules listed override the defaults, those left
        out inherit them again; `on_call` (name and a phone or an e-mail) is who hears of
        high and critical incidents nobody acknowledged within `escalation_minutes` (none: the
        default delay). The next detection round applies them. Admin and dispatcher.

        Errors: 400 `malformed_json`; 401 `missing_token`; 403 `forbidden` (not staff);
        404 `not_found` (no such hub); 422 `invalid` (a field out of its range or of a wrong
        type, an unknown rule or field), `duplicate_rule`, `threshold_out_of_range` (outside
        the rule's own range, e.g. 2..10 failed attempts), `contact_unreachable` (a contact
        with neither phone nor e-mail); the problem names the field.
        """
        service = HubIncidentRulesService(
            db_session, default_escalation_minutes=settings.incident_escalation_minutes
        )
        return await service.replace(hub_id, data)
