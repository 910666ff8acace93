"""`create_app(settings)`: the one wiring point of plugins, controllers and handlers."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.controller import AuthController, UserController
from backend.auth.guards import bearer_auth
from backend.auth.subjects import SUBJECTS_KEY, SubjectCache
from backend.auth.users import UserService
from backend.config import Settings
from backend.console.controller import ConsoleController, ConsolePageController
from backend.couriers.checks import CHECKS_KEY, load_checks
from backend.couriers.controller import (
    CourierApplicationController,
    CourierCheckController,
    CourierController,
    CourierReviewController,
)
from backend.db.replicas import ReplicaRouter, provide_read_db_session
from backend.db.session import make_engine, make_sessionmaker, provide_db_session, unit_of_work
from backend.disruptions.controller import DisruptionController
from backend.drivers.controller import DeviceController, DriverController
from backend.idempotency.middleware import IdempotencyMiddleware
from backend.incidents.controller import IncidentController
from backend.incidents.thresholds_controller import HubIncidentRulesController
from backend.kpis.controller import KpiController
from backend.lib.errors import Invalid, exception_handlers
from backend.lib.inputs import CheckedRequest, RejectNulMiddleware
from backend.lib.logs import RequestIdMiddleware, configure_logging
from backend.lib.openapi.assets import assets_router
from backend.lib.openapi.config import openapi_config
from backend.lib.openapi.finish import install as install_openapi
from backend.lib.retry import RetryTransientMiddleware
from backend.limits.connections import ConnectionCaps
from backend.limits.limiter import make_limiter
from backend.limits.middleware import (
    AccountRateLimitMiddleware,
    BodyLimitMiddleware,
    largest_body_limit,
)
from backend.live.controller import LiveController
from backend.live.hub import LiveRuntime
from backend.manifests.controller import RouteController
from backend.network.controller import NetworkController
from backend.notifications.controller import NotificationController
from backend.notifications.providers import NOTIFIER_KEY, Notifier, load_provider
from backend.offers.controller import OfferController
from backend.outbox.handlers import HANDLERS
from backend.outbox.worker import OutboxWorker
from backend.partners.controller import (
    HandoverController,
    OrganizationController,
    PartnerEventController,
)
from backend.planning.controller import PlanController
from backend.planning.settings import PlanningSettings
from backend.planning.worker import PlanWorker, plan_workers_config
from backend.pod.controller import BlobController, PodController, TrackPodController
from backend.recipients.controller import RecipientController
from backend.shipments.controller import ShipmentController
from backend.sync.controller import SyncController
from backend.system.controller import HealthController
from backend.system.jobs import PeriodicJobs
from backend.tracking.controller import DriverTrackController, TrackingController
from backend.web.controller import TrackingPageController
from backend.webhooks.controller import WebhookDeliveryController, WebhookEndpointController
from backend.webhooks.worker import WebhookWorker

log = logging.getLogger("lastmile")
API_VERSION = "0.1.0"

CONTROLLERS = [
    HealthController,
    AuthController,
    UserController,
    NetworkController,
    DriverController,
    DeviceController,
    ShipmentController,
    RouteController,
    SyncController,
    BlobController,
    PodController,
    TrackPodController,
    TrackingController,
    DriverTrackController,
    RecipientController,
    TrackingPageController,
    LiveController,
    NotificationController,
    CourierApplicationController,
    CourierReviewController,
    CourierCheckController,
    CourierController,
    OfferController,
    OrganizationController,
    HandoverController,
    PartnerEventController,
    WebhookEndpointController,
    WebhookDeliveryController,
    PlanController,
    DisruptionController,
    KpiController,
    ConsolePageController,
    ConsoleController,
    IncidentController,
    HubIncidentRulesController,
]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    engine = make_engine(settings)
    live = LiveRuntime(settings)
    notifier = Notifier(load_provider(settings.notifications_provider), settings.public_base_url)
    subjects = SubjectCache(settings.auth_subject_cache_seconds)
    process_services = {
        NOTIFIER_KEY: notifier,
        CHECKS_KEY: load_checks(settings),
        SUBJECTS_KEY: subjects,
    }
    sessionmaker = make_sessionmaker(engine, info=live.session_info | process_services)
    replicas = ReplicaRouter(settings, engine, sessionmaker, info=process_services)
    limiter = make_limiter(settings)
    caps = ConnectionCaps(settings.live_max_connections, settings.live_max_connections_per_key)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # First, so that every line of this process (start-up included) is JSON.
        configure_logging(settings.log_level)
        await _bootstrap_admin(app)
        async with live.running():
            yield

    @contextlib.asynccontextmanager
    async def background(app: Litestar) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(replicas.run_forever(stop))]
        if settings.embedded_worker:
            planner = PlanWorker(
                sessionmaker,
                PlanningSettings.of(settings),
                poll_seconds=settings.worker_poll_seconds,
                **plan_workers_config(),
            )
            worker = OutboxWorker(sessionmaker, HANDLERS, poll_seconds=settings.worker_poll_seconds)
            jobs = PeriodicJobs(sessionmaker, settings)
            webhooks = webhook_worker(sessionmaker, settings)
            for runner in (worker, jobs, webhooks, planner):
                tasks.append(asyncio.create_task(runner.run_forever(stop)))
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                await task
            await limiter.close()
            await replicas.dispose()
            await engine.dispose()

    app = Litestar(
        route_handlers=[*CONTROLLERS, assets_router()],
        dependencies={
            "db_session": Provide(provide_db_session),
            "read_db_session": Provide(provide_read_db_session),
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "engine": Provide(lambda: engine, use_cache=True, sync_to_thread=False),
            "replicas": Provide(lambda: replicas, use_cache=True, sync_to_thread=False),
            "live_runtime": Provide(lambda: live, use_cache=True, sync_to_thread=False),
            "limiter": Provide(lambda: limiter, use_cache=True, sync_to_thread=False),
            "connection_caps": Provide(lambda: caps, use_cache=True, sync_to_thread=False),
        },
        state=State(
            {
                "settings": settings,
                "engine": engine,
                "sessionmaker": sessionmaker,
                "replicas": replicas,
                "live": live,
                "subjects": subjects,
            }
        ),
        middleware=[
            RequestIdMiddleware,
            BodyLimitMiddleware(settings),
            bearer_auth(),
            AccountRateLimitMiddleware(limiter),
            RejectNulMiddleware,
            IdempotencyMiddleware,
            RetryTransientMiddleware,
        ],
        request_class=CheckedRequest,
        exception_handlers=exception_handlers,
        lifespan=[lifespan, background],
        on_startup=[_tune_garbage_collector],
        logging_config=None,  # ours (backend/lib/logs.py), not Litestar's plain-text one
        request_max_body_size=largest_body_limit(settings),
        cors_config=CORSConfig(allow_origins=settings.cors_origins),
        openapi_config=openapi_config(API_VERSION),
        debug=False,
    )
    return install_openapi(app)


def webhook_worker(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> WebhookWorker:
    return WebhookWorker(
        sessionmaker,
        allow_private=settings.webhooks_allow_private,
        max_in_flight=settings.webhook_max_in_flight,
        per_endpoint=settings.webhook_per_endpoint,
        poll_seconds=settings.worker_poll_seconds,
    )


def _tune_garbage_collector() -> None:
    """What start-up built (routes, models, pools) lives as long as the process: freeze it out of
    every collection. Requests allocate many short-lived containers, so collect the young
    generation less often; reference counting frees almost all of them anyway."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


async def _bootstrap_admin(app: Litestar) -> None:
    settings: Settings = app.state.settings
    if not (settings.bootstrap_admin_email and settings.bootstrap_admin_password):
        return
    try:
        async with unit_of_work(app.state.sessionmaker) as session:
            created = await UserService(session).ensure_admin(
                settings.bootstrap_admin_email, settings.bootstrap_admin_password
            )
    except (OSError, DBAPIError) as exc:
        # Serve anyway: /readyz reports the database, and the next start retries.
        log.error("bootstrap admin skipped, database not reachable: %s", exc)
        return
    except Invalid as exc:
        log.error("bootstrap admin skipped, its password is refused: %s", exc.detail)
        return
    if created:
        log.info("created bootstrap admin %s", settings.bootstrap_admin_email)
