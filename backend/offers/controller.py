"""HTTP for work offers: dispatch makes and withdraws them, couriers accept or decline."""

from typing import Any, Literal
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from backend.auth.guards import requires, staff_only
from backend.auth.schemas import Principal
from backend.db.session import DbSession
from backend.lib.errors import Conflict, Invalid
from backend.lib.openapi import raises
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from backend.offers.schemas import Accepted, CourierOffer, OfferCreate, OfferRead
from backend.offers.service import OfferService

OfferStatus = Literal["open", "accepted", "expired", "withdrawn"]
AppRequest = Request[Principal, Any, Any]


class OfferController(Controller):
    path = "/v1/offers"
    tags = ["offers"]

    @post(
        guards=[staff_only],
        status_code=201,
        opt=raises(
            (Conflict, "offer_exists", "route_not_offerable", "shipment_routed"),
            (Invalid, "invalid", "no_eligible_courier", "unknown_route", "unknown_shipment"),
        ),
    )
    async def create_offer(
        self, data: JSONBody[OfferCreate], request: AppRequest, db_session: DbSession
    ) -> OfferRead:
        """Offer a draft route or shipments to eligible couriers: active, online or available
        in the work's window, with room for its parcels and weight, and (with `radius_m`)
        that close to the hub or first stop. Lists who was offered and who was excluded why."""
        return await OfferService(db_session).create(data, request.user.user_id)

    @get(guards=[staff_only])
    async def list_offers(
        self,
        db_session: DbSession,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        status: FromQuery[OfferStatus | None] = None,
    ) -> Page[OfferRead]:
        """List offers, optionally by status."""
        return await OfferService(db_session).page(cursor=cursor, limit=limit, status=status)

    @get("/mine", guards=[requires("driver")])
    async def my_offers(
        self,
        request: AppRequest,
        db_session: DbSession,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        status: FromQuery[OfferStatus | None] = None,
    ) -> Page[CourierOffer]:
        """The offers made to you, oldest first."""
        return await OfferService(db_session).mine(
            request.user, cursor=cursor, limit=limit, status=status
        )

    @get("/{offer_id:uuid}", guards=[staff_only])
    async def get_offer(self, offer_id: FromPath[UUID], db_session: DbSession) -> OfferRead:
        """One offer: the work, the pay, its status, the couriers it was made to and those excluded,
        with why."""
        return await OfferService(db_session).get(offer_id)

    @post(
        "/{offer_id:uuid}/withdraw",
        guards=[staff_only],
        status_code=200,
        opt=raises((Conflict, "offer_taken", "offer_closed")),
    )
    async def withdraw(self, offer_id: FromPath[UUID], db_session: DbSession) -> OfferRead:
        """Withdraw an open offer: couriers can no longer accept it."""
        return await OfferService(db_session).withdraw(offer_id)

    @post(
        "/{offer_id:uuid}/accept",
        guards=[requires("driver")],
        status_code=200,
        opt=raises((Conflict, "offer_taken", "offer_closed"), (Conflict, "courier_not_active")),
    )
    async def accept(
        self, offer_id: FromPath[UUID], request: AppRequest, db_session: DbSession
    ) -> Accepted:
        """Accept an offer.

        The first courier to accept wins the work as a published route (in their next
        pull); the others get 409 `offer_taken`; a closed offer is 409 `offer_closed`."""
        return await OfferService(db_session).accept(offer_id, request.user)

    @post(
        "/{offer_id:uuid}/decline",
        guards=[requires("driver")],
        status_code=200,
        opt=raises((Conflict, "offer_taken", "offer_closed")),
    )
    async def decline(
        self, offer_id: FromPath[UUID], request: AppRequest, db_session: DbSession
    ) -> CourierOffer:
        """Decline an offer made to you."""
        return await OfferService(db_session).decline(offer_id, request.user)
