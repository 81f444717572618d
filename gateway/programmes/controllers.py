"""``/v1/customers/{id}/programmes/volue`` and ``/v1/meter-points/{id}/eligibility``.

* ``GET`` the membership; ``PUT`` enrolls, ``DELETE`` leaves (202: carried out by the
  outbox after the customer's user exists at Volue; the membership shows ``pending``).
* ``GET .../eligibility`` answers what is stored (from ``UserEligibility`` events);
  ``?refresh=true`` asks Volue first and stores its answer.
* ``GET .../compensation`` asks Volue for the current month, per site, keeps each
  site's figures and problems (shown on the site read too) and answers them.
* ``GET /v1/meter-points/{id}/eligibility`` asks Volue about a meter point before any
  customer exists for it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, put
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc, utcnow
from gateway.core.domain import ProgrammeStatus, Provider
from gateway.core.errors import InvalidError, NotFoundError, UpstreamError
from gateway.core.wire import METER_POINT_ID_PATTERN, Wire
from gateway.customers import reads
from gateway.customers import schemas as cs
from gateway.customers.programme_views import compensation_read
from gateway.http.audit import audited_write
from gateway.http.deps import provide_session
from gateway.http.scopes import READ, WRITE
from gateway.outbox.plan import OutboxPlanner
from gateway.programmes import service
from gateway.runtime.process import Runtime
from gateway.store.programme_tables import ProgrammeMembershipRow
from providers.base import Programme, ProviderError
from providers.registry import MissingCapability


class EnrollRequest(Wire):
    only_if_eligible: bool = False
    """Ask Volue first and leave an ineligible customer ``not_enrolled`` instead of failing."""


class MembershipRead(Wire):
    customer_id: str
    provider: Provider
    status: ProgrammeStatus
    enrolled_at: datetime | None
    eligible: bool | None
    eligibility_checked_at: datetime | None
    last_error: str | None


class EligibilityRead(Wire):
    customer_id: str
    eligible: bool | None
    """None: not known yet (no event, no refresh), or Volue does not know the customer."""
    checked_at: datetime | None


class MeterPointEligibilityRead(Wire):
    meter_point_id: str
    eligible: bool
    checked_at: datetime


class SiteCompensation(Wire):
    site_id: str
    meter_point_ids: list[str]
    """The meter point ids Volue holds for the site's location (from its answer)."""
    active_amount: float
    blocked_amount: float
    currency: str | None
    problems: list[cs.CompensationProblemRead]


class CompensationRead(Wire):
    customer_id: str
    period_from: date | None
    period_to: date | None
    sites: list[SiteCompensation]
    checked_at: datetime


def membership_read(row: ProgrammeMembershipRow) -> MembershipRead:
    return MembershipRead(
        customer_id=row.customer_id, provider=Provider(row.programme),
        status=ProgrammeStatus(row.status), enrolled_at=as_utc(row.enrolled_at),
        eligible=row.eligible, eligibility_checked_at=as_utc(row.eligibility_checked_at),
        last_error=row.last_error,
    )


def _programme(state: State) -> Programme:
    adapters = Runtime.of_state(state).adapters
    try:
        return adapters.programme(Provider.VOLUE)
    except MissingCapability as exc:
        raise UpstreamError(exc.message) from None


def _upstream(exc: ProviderError) -> UpstreamError:
    return UpstreamError(f"Volue: {exc.message}")


MEMBERSHIP_OK = {200: ResponseSpec(data_container=MembershipRead, description="the membership")}
MEMBERSHIP_QUEUED = {202: ResponseSpec(data_container=MembershipRead,
                                       description="the wish is stored; the outbox carries it out")}
UPSTREAM = {502: ResponseSpec(data_container=None, description="Volue failed or refused the call")}


class ProgrammeController(Controller):
    path = "/v1/customers/{customer_id:str}/programmes/volue"
    tags = ["programmes"]
    dependencies = {"session": provide_session}

    @get("/", opt=READ, summary="The customer's membership of Volue's programme")
    async def read(self, session: AsyncSession, customer_id: str) -> MembershipRead:
        customer = await reads.get_customer(session, customer_id)
        row = await session.get(ProgrammeMembershipRow, (customer.id, service.PROGRAMME))
        if row is None:
            row = ProgrammeMembershipRow(customer_id=customer.id, programme=service.PROGRAMME,
                                         id="", updated_at=customer.updated_at)
        return membership_read(row)

    @put("/", opt=WRITE, status_code=202, responses=MEMBERSHIP_QUEUED,
         summary="Enroll the customer in Volue's programme (through the outbox)")
    async def enroll(self, request: Request[Any, Any, Any], customer_id: str,
                     data: EnrollRequest) -> Response[bytes]:
        return await self._plan(request, customer_id, enroll=True,
                                only_if_eligible=data.only_if_eligible)

    @delete("/", opt=WRITE, status_code=202, responses=MEMBERSHIP_QUEUED,
            summary="Take the customer out of Volue's programme (through the outbox)")
    async def leave(self, request: Request[Any, Any, Any], customer_id: str) -> Response[bytes]:
        return await self._plan(request, customer_id, enroll=False)

    @staticmethod
    async def _plan(request: Request[Any, Any, Any], customer_id: str, *, enroll: bool,
                    only_if_eligible: bool = False) -> Response[bytes]:
        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            customer = await reads.get_customer(session, customer_id)
            row = await service.plan_membership(session, planner, customer, enroll=enroll,
                                                only_if_eligible=only_if_eligible)
            return 202, membership_read(row)

        return await audited_write(request, await request.body(), work,
                                   action="programme.enroll" if enroll else "programme.leave",
                                   target=f"customer:{customer_id}",
                                   detail=lambda m: f"membership {m.status}")

    @get("/eligibility", opt=READ, responses=UPSTREAM,
         summary="Whether the customer is eligible (refresh=true asks Volue first)")
    async def eligibility(
        self, state: State, session: AsyncSession, customer_id: str,
        refresh: Annotated[bool, Parameter(description="ask Volue now and store its answer")] = False,
    ) -> EligibilityRead:
        customer = await reads.get_customer(session, customer_id)
        if refresh:
            try:
                eligible = await _programme(state).customer_eligible(customer.id)
            except ProviderError as exc:
                raise _upstream(exc) from None
            row = await service.set_eligibility(session, customer.id, eligible, utcnow())
            await session.commit()
        else:
            found = await session.get(ProgrammeMembershipRow, (customer.id, service.PROGRAMME))
            if found is None:
                return EligibilityRead(customer_id=customer.id, eligible=None, checked_at=None)
            row = found
        return EligibilityRead(customer_id=customer.id, eligible=row.eligible,
                               checked_at=as_utc(row.eligibility_checked_at))

    @get("/compensation", opt=READ, responses=UPSTREAM,
         summary="The current month's compensation per site, with what to fix")
    async def compensation(self, state: State, session: AsyncSession,
                           customer_id: str) -> CompensationRead:
        customer = await reads.get_customer(session, customer_id)
        try:
            found = await _programme(state).compensation(customer.id)
        except ProviderError as exc:
            raise _upstream(exc) from None
        if found is None:
            raise NotFoundError(f"customer {customer.id} is not registered at Volue yet")
        now = utcnow()
        rows = await service.store_compensation(session, customer.id, found, now)
        await session.commit()
        items = []
        for row in rows:
            view = compensation_read(row)
            items.append(SiteCompensation(
                site_id=row.site_id, meter_point_ids=view.meter_point_ids,
                active_amount=view.active_amount, blocked_amount=view.blocked_amount,
                currency=view.currency, problems=view.problems))
        return CompensationRead(customer_id=customer.id, period_from=found.period_from,
                                period_to=found.period_to, sites=items, checked_at=now)


class MeterPointController(Controller):
    path = "/v1/meter-points"
    tags = ["programmes"]

    @get("/{meter_point_id:str}/eligibility", opt=READ, responses=UPSTREAM,
         summary="Ask Volue whether a meter point is eligible (no customer needed)")
    async def eligibility(self, state: State, meter_point_id: str) -> MeterPointEligibilityRead:
        try:
            msgspec.convert(meter_point_id, _MeterPoint)
        except msgspec.ValidationError:
            raise InvalidError(f"not a meter point id (pattern {METER_POINT_ID_PATTERN})",
                               field="meterPointId") from None
        try:
            eligible = await _programme(state).meter_point_eligible(meter_point_id)
        except ProviderError as exc:
            raise _upstream(exc) from None
        return MeterPointEligibilityRead(meter_point_id=meter_point_id, eligible=eligible,
                                         checked_at=utcnow())


_MeterPoint = Annotated[str, msgspec.Meta(pattern=METER_POINT_ID_PATTERN)]
