"""Volue's SPARK programme calls: enrollment, eligibility and compensation.

Over the adapter's ``ProviderHttp`` (shared connections, token and error
classification). Answers are decoded leniently like everything Volue sends (an
enrollment answer may carry only the ``userId`` the document requires, or no body), and
turned into the provider-neutral structs of :mod:`providers.base`
(:class:`~providers.base.Enrollment`, :class:`~providers.base.Compensation`).
"""

from __future__ import annotations

import httpx

from providers.base import (
    Compensation,
    CompensationProblem,
    Enrollment,
    SiteCompensation,
)
from providers.http import ProviderHttp, decode
from providers.volue.schemas import (
    GetMpidEligibilityResponse,
    GetUserCompensationForCurrentMonthResponse,
    GetUserEligibilityResponse,
    GetUserEnrollmentResponse,
)

ENROLLMENT = "/users/{userId}/enrollment"
ELIGIBILITY = "/users/{userId}/eligibility"
COMPENSATION = "/users/{userId}/compensation"
METER_ELIGIBLE = "/meters/{mpid}/eligible"


def _enrollment(response: httpx.Response, *, implied: bool) -> Enrollment:
    """A ``GetUserEnrollmentResponse`` as an :class:`Enrollment`. The document requires only
    ``userId``: without ``isEnrolled`` an enrollment id or date says enrolled, and an answer
    saying neither (or no body) gives ``implied`` (what the request implies) as not stated."""
    if not response.content.strip():
        return Enrollment(enrolled=implied, stated=False)
    found = decode(response, GetUserEnrollmentResponse, route=ENROLLMENT)
    if found.enrollment_id is not None or found.enrollment_date is not None:
        enrolled, stated = True, True
    elif b'"isEnrolled"' in response.content:
        enrolled, stated = bool(found.is_enrolled), True
    else:
        enrolled, stated = implied, False
    return Enrollment(enrolled=enrolled, enrollment_id=found.enrollment_id,
                      enrolled_at=found.enrollment_date, stated=stated)


class VolueProgrammeClient:
    """``/users/{userId}/enrollment|eligibility|compensation`` and ``/meters/{mpid}/eligible``."""

    def __init__(self, *, http: ProviderHttp) -> None:
        self.http = http

    async def enroll(self, user_id: str) -> Enrollment:
        """``POST /users/{userId}/enrollment``; enrolling again returns the standing enrollment."""
        response = await self.http.send("POST", ENROLLMENT, path={"userId": user_id})
        return _enrollment(response, implied=True)

    async def leave(self, user_id: str) -> bool:
        """``DELETE /users/{userId}/enrollment``; False when the user was not enrolled (404)."""
        response = await self.http.send(
            "DELETE", ENROLLMENT, path={"userId": user_id}, tolerate=(404,)
        )
        return response.status_code != 404

    async def enrollment(self, user_id: str) -> Enrollment | None:
        """``GET /users/{userId}/enrollment``; None when Volue has no such user."""
        response = await self.http.send(
            "GET", ENROLLMENT, path={"userId": user_id}, tolerate=(404,)
        )
        if response.status_code == 404:
            return None
        return _enrollment(response, implied=False)

    async def user_eligible(self, user_id: str) -> bool | None:
        """``GET /users/{userId}/eligibility``; None when Volue has no such user."""
        response = await self.http.send(
            "GET", ELIGIBILITY, path={"userId": user_id}, tolerate=(404,)
        )
        if response.status_code == 404:
            return None
        return decode(response, GetUserEligibilityResponse, route=ELIGIBILITY).is_eligible

    async def meter_point_eligible(self, meter_point_id: str) -> bool:
        """``GET /meters/{mpid}/eligible``."""
        response = await self.http.send("GET", METER_ELIGIBLE, path={"mpid": meter_point_id})
        return decode(response, GetMpidEligibilityResponse, route=METER_ELIGIBLE).is_eligible

    async def compensation(self, user_id: str) -> Compensation | None:
        """``GET /users/{userId}/compensation`` (the current month); None for an unknown user."""
        response = await self.http.send(
            "GET", COMPENSATION, path={"userId": user_id}, tolerate=(404,)
        )
        if response.status_code == 404:
            return None
        found = decode(response, GetUserCompensationForCurrentMonthResponse, route=COMPENSATION)
        sites = [
            SiteCompensation(
                site_id=loc.location_id,
                meter_point_ids=tuple(loc.meter_point_ids or ()),
                active_amount=loc.active_amount or 0.0,
                blocked_amount=loc.blocked_amount or 0.0,
                currency=loc.currency.value if loc.currency is not None else None,
                problems=tuple(
                    CompensationProblem(
                        kind=p.problem_type.value if p.problem_type is not None else None,
                        message=p.message,
                    )
                    for p in loc.problems or ()
                ),
            )
            for loc in found.location_compensations or ()
        ]
        return Compensation(
            period_from=found.period.from_,
            period_to=found.period.to,
            sites=tuple(sites),
        )
