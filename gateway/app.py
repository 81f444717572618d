"""The composition root: ``create_app()`` builds the Litestar app from settings."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from gateway.bootstrap import build_adapters
from gateway.console.controllers import console_router, template_config
from gateway.console.headers import add_console_headers
from gateway.console.sessions import SESSION_STORE, DatabaseStore, session_store
from gateway.core.heap import startup_objects_frozen
from gateway.core.settings import Settings, load_settings, secret_values
from gateway.customers.controllers.customers import CustomerController
from gateway.customers.controllers.devices import (
    CustomerVehiclesController,
    DeviceController,
    SiteDevicesController,
)
from gateway.customers.controllers.problems import ProblemsController
from gateway.customers.controllers.sites import CustomerSitesController, SiteController
from gateway.customers.controllers.sync import SyncController, SyncHistoryController
from gateway.energy.controllers import DeviceConsumptionController, SiteEnergyUsageController
from gateway.events.controllers import EventController
from gateway.events.receiver import volue_webhook
from gateway.events.subscriptions import SubscriptionController
from gateway.http.audit import AuditController
from gateway.http.content_type import require_json
from gateway.http.deps import authenticate
from gateway.http.docs import docs_assets_router, docs_render_plugins
from gateway.http.health import live, ready
from gateway.http.input_guard import guard_request
from gateway.http.problems import EXCEPTION_HANDLERS
from gateway.http.ratelimit import ApiGuards
from gateway.invites.controllers import InviteController, SiteInvitesController
from gateway.observability.logging import RequestIdMiddleware, register_secrets
from gateway.observability.metrics import HttpMetricsMiddleware, metrics_endpoint
from gateway.observability.tracing import TracingMiddleware, configure_from_env
from gateway.outbox.dispatch import ArqDispatcher, Dispatcher, LocalDispatcher
from gateway.programmes.controllers import MeterPointController, ProgrammeController
from gateway.readings.controllers import DeviceReadingsController, ReadingsController
from gateway.reports.controllers import (
    DeviceReportsController,
    LpcAnswerController,
    ReportController,
    SitePlanController,
    SiteReportsController,
)
from gateway.runtime.process import Runtime
from gateway.store.db import create_engine, reader, session_factory

log = logging.getLogger("gateway")

API_CONTROLLERS = [
    CustomerController,
    CustomerSitesController,
    SiteController,
    SiteDevicesController,
    CustomerVehiclesController,
    DeviceController,
    SyncController,
    SyncHistoryController,
    ProblemsController,
    AuditController,
    EventController,
    SubscriptionController,
    DeviceReportsController,
    SiteReportsController,
    SitePlanController,
    LpcAnswerController,
    ReportController,
    SiteEnergyUsageController,
    DeviceConsumptionController,
    ReadingsController,
    DeviceReadingsController,
    SiteInvitesController,
    InviteController,
    ProgrammeController,
    MeterPointController,
]


async def _dispatcher(settings: Settings) -> Dispatcher:
    if settings.embedded:
        return LocalDispatcher()
    from arq import create_pool
    from arq.connections import RedisSettings

    pool = await create_pool(RedisSettings.from_dsn(settings.store.redis_url))
    return ArqDispatcher(pool)


def create_app(settings: Settings | None = None, *, embedded_worker: bool = True) -> Litestar:
    """The gateway API. In embedded mode (no Redis) it also runs the sync worker in-process
    unless ``embedded_worker`` is False."""
    settings = settings or load_settings()
    register_secrets(secret_values(settings))
    console_sessions = session_store(settings.store.redis_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(settings.store.database_url)
        sessions = session_factory(engine)
        if isinstance(console_sessions, DatabaseStore):
            console_sessions.bind(sessions)
        async with contextlib.AsyncExitStack() as stack:
            runtime = Runtime(
                settings=settings, engine=engine, sessions=sessions, reader=reader(engine),
                dispatcher=await _dispatcher(settings),
                # For the calls the API makes on a caller's behalf (eligibility, compensation).
                adapters=await stack.enter_async_context(build_adapters(settings)))
            app.state.runtime = runtime
            if settings.embedded and embedded_worker:
                from gateway.worker import embedded_worker as run_embedded

                await stack.enter_async_context(run_embedded(runtime))
            try:
                with startup_objects_frozen():
                    yield
            finally:
                await ApiGuards.of(app).close()
                await console_sessions.__aexit__(None, None, None)
                await runtime.dispatcher.close()
                await engine.dispose()

    return Litestar(
        route_handlers=[
            live,
            ready,
            volue_webhook,
            metrics_endpoint,
            docs_assets_router(),
            console_router(settings),
            Router(path="/", route_handlers=API_CONTROLLERS, guards=[authenticate, require_json],
                   security=[{"apiKey": []}]),
        ],
        lifespan=[lifespan],
        # a span per request only while traces are recorded (OTEL_EXPORTER_OTLP_ENDPOINT set)
        middleware=[RequestIdMiddleware, HttpMetricsMiddleware,
                    *([TracingMiddleware] if configure_from_env(role="api") else [])],
        before_request=guard_request,
        before_send=[add_console_headers],
        logging_config=None,  # logging is set up once per process (gateway.observability.logging)
        state=State({"settings": settings,
                     "guards": ApiGuards.from_settings(settings)}),
        stores={SESSION_STORE: console_sessions},
        template_config=template_config(),
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.http.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Energy integration gateway",
            version="1.0.0",
            path="/schema",
            render_plugins=docs_render_plugins(),
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(type="http", scheme="bearer",
                                             description="Authorization: Bearer <API key>")
                }
            ),
        ),
        debug=False,
    )
