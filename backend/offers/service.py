"""Work offers: dispatch offers a draft route (or shipments) to eligible couriers; the first to
accept gets it as a published route, the others see it gone; nobody in time opens an incident.

Couriers learn of offers in their sync pull (`entity: offer`), on the live feed (`offer`) and at
`GET /v1/offers/mine`. Every change of an offer records a manifest change for each courier it was
made to, so their next pull shows it or removes it.
"""

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.incidents.service import IncidentService, NewIncident
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, Invalid, NotFound
from backend.lib.geo import point_from_db, point_to_db
from backend.lib.ids import uuid7
from backend.lib.pagination import Page, decode_cursor, page_of
from backend.live.messages import LiveMessage, announce
from backend.manifests.schemas import RouteCreate, StopIn
from backend.manifests.service import RouteService
from backend.offers.eligibility import split, weekly_slot
from backend.offers.models import Offer, OfferRecipient
from backend.offers.repository import OfferRepository
from backend.offers.schemas import (
    Accepted,
    CourierOffer,
    Exclusion,
    OfferCreate,
    OfferRead,
    Pay,
)
from backend.sync.changes import ManifestChangeLog

MAX_OFFER_HOURS = 7 * 24
# Work with no time window is taken to start when offered and to last this long.
DEFAULT_WORK_HOURS = 4
CLOSED_SHIPMENT_STATUSES = ("delivered", "returned", "cancelled")


class OfferService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = OfferRepository(session)

    # dispatch ----------------------------------------------------------------------------------

    async def create(self, data: OfferCreate, actor_id: UUID | None) -> OfferRead:
        now = utcnow()
        if data.expires_at <= now:
            raise Invalid("The offer would expire before it is made", field="expires_at")
        if data.expires_at > now + timedelta(hours=MAX_OFFER_HOURS):
            raise Invalid(f"An offer lasts at most {MAX_OFFER_HOURS} hours", field="expires_at")
        hub_id, shipment_ids = await self._work_items(data)
        await self.repo.lock_shipments(shipment_ids)
        if await self.repo.open_offer_for(data.route_id, shipment_ids):
            raise Conflict("An open offer already holds this work", code="offer_exists")
        facts = await self.repo.shipment_facts(shipment_ids)
        parcels = sum(int(f["parcels"]) for f in facts.values())
        weight = float(sum(f["weight_kg"] or 0 for f in facts.values()))
        starts = [f["window_start"] for f in facts.values() if f["window_start"]]
        ends = [f["window_end"] for f in facts.values() if f["window_end"]]
        window_start = min(starts) if starts else now
        window_end = max(ends) if ends else window_start + timedelta(hours=DEFAULT_WORK_HOURS)
        anchor = await self._anchor(data.anchor, hub_id, facts[shipment_ids[0]])
        couriers = await self.repo.courier_reasons(
            anchor,
            data.radius_m,
            data.courier_ids,
            weekly_slot(window_start, window_end),
            parcels,
            weight,
        )
        offered, excluded, out_of_range = split(couriers, data.courier_ids)
        exclusions = [{"courier_id": str(d), "reasons": r} for d, r in excluded]
        if not offered:
            raise Invalid(
                "No courier is eligible for this work",
                field="courier_ids" if data.courier_ids else "radius_m",
                code="no_eligible_courier",
            )
        offer = Offer(
            id=uuid7(),
            status="open",
            hub_id=hub_id,
            route_id=data.route_id,
            shipment_ids=[str(s) for s in shipment_ids],
            stops=len(shipment_ids),
            parcels=parcels,
            weight_kg=weight,
            anchor=point_to_db(*anchor),
            pay_amount=data.pay.amount,
            pay_currency=data.pay.currency,
            window_start=window_start,
            window_end=window_end,
            expires_at=data.expires_at,
            radius_m=data.radius_m,
            excluded=exclusions,
            out_of_range=out_of_range,
            created_by=actor_id,
        )
        self.repo.add(offer)
        await self.repo.flush()
        await self.repo.add_recipients(offer.id, offered)
        await self._changed(offer, offered, "offer.new")
        return await self.read(offer)

    async def online_couriers_near(
        self, lon: float, lat: float, radius_m: float, limit: int
    ) -> dict[UUID, tuple[float, float]]:
        """Active couriers online within `radius_m` of a point, nearest first: {id: (lon, lat)}."""
        rows = await self.repo.online_couriers_near(lon, lat, radius_m, limit)
        return {row["driver_id"]: (float(row["lon"]), float(row["lat"])) for row in rows}

    async def _work_items(self, data: OfferCreate) -> tuple[UUID, list[UUID]]:
        """(hub, shipments in stop order) of the offered work, checked offerable."""
        if (data.route_id is None) == (data.shipment_ids is None):
            raise Invalid("Give either route_id or shipment_ids", field="route_id")
        if data.route_id is not None:
            route = await self.repo.route(data.route_id)
            if route is None:
                raise Invalid("No such route", field="route_id", code="unknown_route")
            if route["status"] != "draft":
                raise Conflict(
                    f"The route is {route['status']}; only a draft route can be offered",
                    code="route_not_offerable",
                )
            if not route["shipment_ids"]:
                raise Invalid("The route has no stops", field="route_id")
            return route["hub_id"], list(route["shipment_ids"])
        shipment_ids = list(dict.fromkeys(data.shipment_ids or []))
        facts = await self.repo.shipment_facts(shipment_ids)
        for i, shipment_id in enumerate(shipment_ids):
            fact = facts.get(shipment_id)
            field = f"shipment_ids[{i}]"
            if fact is None:
                raise Invalid("No such shipment", field=field, code="unknown_shipment")
            if fact["status"] in CLOSED_SHIPMENT_STATUSES:
                raise Invalid(f"The shipment is {fact['status']}", field=field)
            if fact["routed"]:
                raise Conflict("The shipment is already on a route", code="shipment_routed")
        hubs = {f["hub_id"] for f in facts.values()}
        if len(hubs) != 1:
            raise Invalid("The shipments belong to different hubs", field="shipment_ids")
        return hubs.pop(), shipment_ids

    async def _anchor(self, kind: str, hub_id: UUID, first_stop) -> tuple[float, float]:
        if kind == "first_stop":
            return first_stop["lon"], first_stop["lat"]
        point = await self.repo.hub_point(hub_id)
        assert point is not None  # the foreign key holds it
        return point

    async def withdraw(self, offer_id: UUID) -> OfferRead:
        offer = await self._offer(offer_id)
        if not await self.repo.close(offer.id, "withdrawn", utcnow()):
            raise _closed(offer)
        offer = await self._offer(offer_id)
        await self._changed(offer, await self._recipient_ids(offer.id), "offer.closed")
        return await self.read(offer)

    async def expire_due(self, now: datetime) -> int:
        """Close offers past their expiry; each opens an `offer_expired` incident."""
        expired = await self.repo.expire_due(now)
        if not expired:
            return 0
        recipients = await self.repo.recipients_of([o.id for o in expired])
        await IncidentService(self.session).open(
            [
                NewIncident(
                    kind="offer_expired",
                    dedupe_key=f"offer_expired:{offer.id}",
                    occurred_at=offer.expires_at,
                    data={
                        "offer_id": str(offer.id),
                        "route_id": str(offer.route_id) if offer.route_id else None,
                        "shipment_ids": offer.shipment_ids,
                        "offered_to": len(recipients.get(offer.id, [])),
                    },
                )
                for offer in expired
            ]
        )
        for offer in expired:
            await self._changed(offer, recipients.get(offer.id, []), "offer.closed")
        return len(expired)

    # couriers ----------------------------------------------------------------------------------

    async def accept(self, offer_id: UUID, principal: Principal) -> Accepted:
        driver_id = await self._recipient_of(offer_id, principal)
        now = utcnow()
        if not await self.repo.take(offer_id, driver_id, now):
            offer = await self._offer(offer_id)
            if offer.status == "accepted" and offer.winner_driver_id == driver_id:
                assert offer.route_id is not None
                return Accepted(offer.id, offer.route_id)  # a retry of the winner's accept
            raise _closed(offer)
        offer = await self._offer(offer_id)
        recipient = await self.repo.recipient(offer_id, driver_id)
        assert recipient is not None
        recipient.response, recipient.responded_at = "accepted", now
        route_id = await self._hand_over(offer, driver_id)
        offer.route_id = route_id
        await self.repo.flush()
        await self._changed(offer, await self._recipient_ids(offer.id), "offer.taken")
        return Accepted(offer.id, route_id)

    async def _hand_over(self, offer: Offer, driver_id: UUID) -> UUID:
        """The work becomes the winner's published route, which their next pull brings."""
        routes = RouteService(self.session)
        if offer.route_id is not None:
            await routes.reassign(offer.route_id, driver_id, None)
            route_id = offer.route_id
        else:
            stops = [StopIn(shipment_id=UUID(s)) for s in offer.shipment_ids]
            route = await routes.create(
                RouteCreate(
                    driver_id=driver_id,
                    hub_id=offer.hub_id,
                    date=offer.window_start.date(),
                    stops=stops,
                ),
                None,
            )
            route_id = route.id
        await routes.publish(route_id, None)
        return route_id

    async def decline(self, offer_id: UUID, principal: Principal) -> CourierOffer:
        driver_id = await self._recipient_of(offer_id, principal)
        offer = await self._offer(offer_id)
        recipient = await self.repo.recipient(offer_id, driver_id)
        assert recipient is not None
        if offer.status != "open":
            raise _closed(offer)
        if recipient.response is None:
            recipient.response, recipient.responded_at = "declined", utcnow()
            await self.repo.flush()
            await self._changed(offer, [driver_id], "offer.declined")
        return courier_offer(offer, recipient)

    async def mine(
        self, principal: Principal, *, cursor: str | None, limit: int, status: str | None
    ) -> Page[CourierOffer]:
        if principal.driver_id is None:
            return Page(items=[], next_cursor=None)
        rows = await self.repo.mine(
            principal.driver_id, after=decode_cursor(cursor), limit=limit + 1, status=status
        )
        return page_of([courier_offer(o, r) for o, r in rows], limit, lambda o: o.id)

    # staff reads -------------------------------------------------------------------------------

    async def get(self, offer_id: UUID) -> OfferRead:
        return await self.read(await self._offer(offer_id))

    async def page(self, *, cursor: str | None, limit: int, status: str | None) -> Page[OfferRead]:
        rows = await self.repo.page(after=decode_cursor(cursor), limit=limit + 1, status=status)
        return page_of([await self.read(o) for o in rows], limit, lambda o: o.id)

    async def read(self, offer: Offer) -> OfferRead:
        return OfferRead(
            id=offer.id,
            status=offer.status,  # type: ignore[arg-type]
            hub_id=offer.hub_id,
            route_id=offer.route_id,
            shipment_ids=[UUID(s) for s in offer.shipment_ids],
            parcels=offer.parcels,
            weight_kg=offer.weight_kg,
            pay=Pay(offer.pay_amount, offer.pay_currency),
            window_start=offer.window_start,
            window_end=offer.window_end,
            expires_at=offer.expires_at,
            offered=await self._recipient_ids(offer.id),
            excluded=[Exclusion(UUID(e["courier_id"]), e["reasons"]) for e in offer.excluded],
            out_of_range=offer.out_of_range,
            winner_driver_id=offer.winner_driver_id,
            created_at=offer.created_at,
        )

    # internals ---------------------------------------------------------------------------------

    async def _offer(self, offer_id: UUID) -> Offer:
        offer = await self.repo.offer(offer_id)
        if offer is None:
            raise NotFound("No such offer")
        return offer

    async def _recipient_of(self, offer_id: UUID, principal: Principal) -> UUID:
        """The caller's driver id if the offer was made to them; else 404."""
        driver_id = principal.driver_id
        if driver_id is None or await self.repo.recipient(offer_id, driver_id) is None:
            raise NotFound("No such offer")
        return driver_id

    async def _recipient_ids(self, offer_id: UUID) -> list[UUID]:
        return [r.driver_id for r in await self.repo.recipients(offer_id)]

    async def _changed(self, offer: Offer, driver_ids: list[UUID], event: str) -> None:
        """Each courier's next pull shows the offer (or, once it is closed to them, removes
        it); the live feed tells them and dispatch now."""
        if not driver_ids:
            return
        await ManifestChangeLog(self.session).record_many(
            {driver_id: [("offer", offer.id, "upsert")] for driver_id in driver_ids}
        )
        data = {"event": event, "offer_id": str(offer.id), "status": offer.status}
        announce(
            self.session,
            [LiveMessage(type="offer", driver_id=d, data=data) for d in driver_ids],
        )


def courier_offer(offer: Offer, recipient: OfferRecipient) -> CourierOffer:
    pickup = point_from_db(offer.anchor)
    assert pickup is not None
    return CourierOffer(
        id=offer.id,
        status=offer.status,  # type: ignore[arg-type]
        hub_id=offer.hub_id,
        pickup=pickup,
        stops=offer.stops,
        parcels=offer.parcels,
        weight_kg=offer.weight_kg,
        pay=Pay(offer.pay_amount, offer.pay_currency),
        window_start=offer.window_start,
        window_end=offer.window_end,
        expires_at=offer.expires_at,
        response=recipient.response,  # type: ignore[arg-type]
        won=offer.winner_driver_id == recipient.driver_id,
    )


def _closed(offer: Offer) -> Conflict:
    if offer.status == "accepted":
        return Conflict("Another courier took this offer", code="offer_taken")
    status = "expired" if offer.status == "open" else offer.status  # the job has yet to run
    return Conflict(f"The offer is {status}", code="offer_closed")
