"""In-memory state of the Volue emulator: users, locations, resources, events, webhooks,
and the SPARK programme (enrollment, eligibility, compensation).

Compensation is derived from the emulator's own state: each location of an enrolled
user earns ``COMPENSATION_RATE`` per kWh of energy usage reported for it (or for its
resources) in the current month; a location without a meter point id cannot be paid
(seed 002: "at least one meterpoint id is required to enable compensation"), so its
amount is blocked and it carries the ``MissingMpidOnLocation`` problem, and a report
naming a meter point id the location does not hold adds
``CompensationMpidDoesNotMatchLocation``.

Pure bookkeeping with no HTTP: methods raise :class:`NotFound`, :class:`Conflict` or
:class:`Invalid` and the route layer turns them into the status codes the spec
declares for each route. Every id map is a dict, so batch operations stay O(n).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from providers.emulation import EmulatorStats
from providers.volue import schemas as s
from providers.volue.emulator.sandbox_areas import TEST_AREAS, is_eligible

T = TypeVar("T")
COMPENSATION_RATE = 0.5
"""NOK per kWh reported for an enrolled user's location in the current month."""
SIMULATED_PREFIX = "sim-"
"""Ids of the partner data ``POST /simulation/partner`` creates start with this."""
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


class DomainError(Exception):
    """A request the emulator refuses; subclasses say why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(DomainError):
    """The request breaks a rule of the API (answered 400)."""


class NotFound(DomainError):
    """A referenced entity does not exist (404 where the spec declares it)."""


class Conflict(DomainError):
    """The id exists with other content or under another parent (409 where declared)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Location:
    location_id: str
    user_id: str
    location_type: s.LocationType | None
    coordinates: tuple[float, float] | None
    meter_point_ids: tuple[str, ...]
    eligible: bool = False
    resources: dict[str, None] = field(default_factory=dict)

    def content(self) -> tuple[object, ...]:
        return (self.location_type, self.coordinates, self.meter_point_ids)

    def to_wire(self) -> s.GetLocationResponse:
        coords = self.coordinates
        return s.GetLocationResponse(
            location_id=self.location_id,
            location_type=self.location_type,
            coordinates=s.Coordinate(latitude=coords[0], longitude=coords[1]) if coords else None,
            meter_point_id=self.meter_point_ids[0] if self.meter_point_ids else None,
            meter_point_ids=list(self.meter_point_ids),
            user_id=self.user_id,
        )


@dataclass(slots=True)
class Resource:
    resource_id: str
    user_id: str
    location_id: str | None
    resource_type: s.ResourceType
    meter_point_id: str | None

    def content(self) -> tuple[object, ...]:
        return (self.user_id, self.location_id, self.resource_type, self.meter_point_id)

    def to_wire(self) -> s.GetResourceResponse:
        return s.GetResourceResponse(
            resource_id=self.resource_id,
            resource_type=self.resource_type,
            user_id=self.user_id,
            location_id=self.location_id,
            meter_point_id=self.meter_point_id,
        )

    def to_bound_wire(self) -> s.GetLocationBoundResourceResponse:
        return s.GetLocationBoundResourceResponse(
            resource_id=self.resource_id,
            resource_type=self.resource_type,
            location_id=self.location_id or "",
            user_id=self.user_id,
            meter_point_id=self.meter_point_id,
        )


@dataclass(slots=True)
class User:
    user_id: str
    locations: dict[str, None] = field(default_factory=dict)
    resources: dict[str, None] = field(default_factory=dict)
    enrollment_id: str | None = None
    enrolled_at: datetime | None = None


@dataclass(slots=True)
class Usage:
    """Energy reported for one location in one month, and meter point ids that did not match."""

    kwh: float = 0.0
    foreign_mpids: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Event:
    id: str
    created_at: datetime
    payload: s.SparkEventPayload

    def to_wire(self) -> s.GetEventResponse:
        return s.GetEventResponse(id=self.id, created_at=self.created_at, payload=self.payload)


def paginate(
    items: Sequence[T], page: int | None, page_size: int | None
) -> tuple[Sequence[T], s.ApiPagination]:
    """Slice one page (1-based) and describe it as the spec's ``ApiPagination``."""
    page = 1 if page is None else page
    size = DEFAULT_PAGE_SIZE if page_size is None else page_size
    if page < 1:
        raise Invalid("page must be 1 or greater")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise Invalid(f"pageSize must lie between 1 and {MAX_PAGE_SIZE}")
    total = len(items)
    pages = (total + size - 1) // size
    start = (page - 1) * size
    info = s.ApiPagination(
        total_records=total,
        page_size=size,
        current_page=page,
        total_pages=pages,
        next_page=page + 1 if page < pages else None,
        previous_page=page - 1 if page > 1 else None,
    )
    return items[start : start + size], info


def _merged_mpids(single: str | None, many: list[str] | None) -> tuple[str, ...]:
    ids = list(many or ())
    if single and single not in ids:
        ids.insert(0, single)
    if any(not mpid for mpid in ids):
        raise Invalid("meterPointIds must not contain empty ids")
    return tuple(dict.fromkeys(ids))


def _coords(c: s.Coordinate | None) -> tuple[float, float] | None:
    if c is None:
        return None
    if not (-90.0 <= c.latitude <= 90.0 and -180.0 <= c.longitude <= 180.0):
        raise Invalid("coordinates must be latitude in [-90, 90] and longitude in [-180, 180]")
    return (c.latitude, c.longitude)


def _require_place(location_id: str, mpids: tuple[str, ...], coords: object) -> None:
    if not mpids and coords is None:
        raise Invalid(f"location {location_id} needs meterPointIds or coordinates")


class VolueState:
    """Everything the emulator remembers, with the rules the API applies to it."""

    def __init__(self, *, stats: EmulatorStats, seed: int = 0) -> None:
        self.stats = stats
        self.rng = random.Random(seed)
        self.users: dict[str, User] = {}
        self.locations: dict[str, Location] = {}
        self.resources: dict[str, Resource] = {}
        self.events: dict[str, Event] = {}
        self.event_list: list[Event] = []
        self.reports: dict[str, s.GetReportResponse] = {}
        self._report_contents: set[bytes] = set()
        self.usage: dict[tuple[str, str], Usage] = {}
        """Reported energy per (location id, ``YYYY-MM``)."""
        self.location_energy_usage: dict[str, dict[int, float]] = {}
        """Per location, the current ``LocationEnergyUsage`` points: interval start (epoch s) →
        kWh, as the latest report naming that point set it."""
        self.location_energy_postings: dict[tuple[str, int], int] = {}
        """How many reports carried each (location, interval start) point."""
        self.on_event: Callable[[Event], None] | None = None

    def entity_counts(self) -> dict[str, int]:
        return {
            "users": len(self.users),
            "locations": len(self.locations),
            "resources": len(self.resources),
            "events": len(self.event_list),
            "reports": len(self.reports),
            "enrolled": sum(1 for u in self.users.values() if u.enrollment_id is not None),
        }

    def store_report(self, report: s.GetReportResponse, content: bytes) -> None:
        """Keep a posted report; ``content`` (its body in a canonical form) seen before counts as
        a duplicate."""
        digest = hashlib.sha256(content).digest()
        if digest in self._report_contents:
            self.stats.count_duplicate("report")
        self._report_contents.add(digest)
        self.reports[report.id] = report

    def record_usage(self, req: s.PostReportRequest, now: datetime) -> None:
        """Count the energy-usage payloads of a report towards their locations' compensation."""
        month = now.strftime("%Y-%m")
        for payload in req.payloads or ():
            location_id: str | None
            mpid: str | None
            if isinstance(payload, s.EnergyUsageReportPayload):
                res = self.resources.get(payload.resource_id)
                location_id = payload.location_id or (res.location_id if res else None)
                mpid = payload.meter_point_id
                points = [*(payload.points or ()), *(payload.curve_points or ())]
            elif isinstance(payload, s.LocationEnergyUsageReportPayload):
                location_id, mpid, points = payload.location_id, payload.meter_point_id, payload.points or []
            else:
                continue
            if location_id is None or location_id not in self.locations:
                continue
            usage = self.usage.setdefault((location_id, month), Usage())
            usage.kwh += sum(p.kilo_watt_hours for p in points)
            if mpid and mpid not in self.locations[location_id].meter_point_ids:
                usage.foreign_mpids.add(mpid)

    # ------------------------------------------------------------ the SPARK programme

    def enroll(self, user_id: str) -> User:
        """Enroll an eligible user (again: the earlier enrollment stands)."""
        user = self.user(user_id)
        if user.enrollment_id is None:
            if not self.is_user_eligible(user_id):
                raise Invalid(f"user {user_id} is not eligible for the SPARK program")
            user.enrollment_id = str(uuid.uuid4())
            user.enrolled_at = utcnow()
        return user

    def leave(self, user_id: str) -> None:
        """Remove a user from the programme; NotFound when not enrolled."""
        user = self.user(user_id)
        if user.enrollment_id is None:
            raise NotFound(f"user {user_id} is not enrolled")
        user.enrollment_id = None
        user.enrolled_at = None

    def enrollment(self, user_id: str) -> s.GetUserEnrollmentResponse:
        user = self.user(user_id)
        return s.GetUserEnrollmentResponse(
            user_id=user_id,
            is_enrolled=user.enrollment_id is not None,
            enrollment_id=user.enrollment_id,
            enrollment_date=user.enrolled_at,
        )

    def compensation(self, user_id: str) -> s.GetUserCompensationForCurrentMonthResponse:
        """The current month's compensation per location of the user, with its problems."""
        user = self.user(user_id)
        today = utcnow().date()
        first = today.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        month = first.strftime("%Y-%m")
        locations = []
        for location_id in user.locations:
            loc = self.locations[location_id]
            usage = self.usage.get((location_id, month), Usage())
            amount = round(usage.kwh * COMPENSATION_RATE, 2) if user.enrollment_id else 0.0
            problems: list[s.Problem] = []
            if not loc.meter_point_ids:
                problems.append(s.Problem(
                    problem_type=s.ProblemType.MISSING_MPID_ON_LOCATION,
                    message=f"Location {location_id} has no meter point id"))
            for mpid in sorted(usage.foreign_mpids):
                problems.append(s.Problem(
                    problem_type=s.ProblemType.COMPENSATION_MPID_DOES_NOT_MATCH_LOCATION,
                    message=f"Meter point id {mpid} does not belong to location {location_id}"))
            blocked = bool(problems)
            locations.append(s.LocationCompensation(
                location_id=location_id,
                meter_point_ids=list(loc.meter_point_ids),
                active_amount=0.0 if blocked else amount,
                blocked_amount=amount if blocked else 0.0,
                currency=s.Currency.NOK,
                problems=problems,
            ))
        return s.GetUserCompensationForCurrentMonthResponse(
            user_id=user_id,
            period=s.Period(from_=first, to=following - timedelta(days=1)),
            location_compensations=locations,
        )

    def simulate_partner(self, count: int = 3) -> None:
        """``POST /simulation/partner``: users with a location in a sandbox test area, a
        charger there and a vehicle each (ids ``sim-...``; created again, they are kept)."""
        area = TEST_AREAS[0]
        for n in range(1, count + 1):
            user_id = f"{SIMULATED_PREFIX}user-{n}"
            self.create_users([user_id])
            lat, lon = area.center_latitude, area.center_longitude
            req = s.PostLocationRequest(
                location_id=f"{SIMULATED_PREFIX}location-{n}",
                location_type=s.LocationType.RESIDENTIAL,
                coordinates=s.Coordinate(latitude=lat, longitude=lon),
                meter_point_ids=[f"{SIMULATED_PREFIX}mpid-{n}"],
            )
            if req.location_id not in self.locations:
                self.create_location(user_id, req)
            for resource_id, location_id, kind in (
                (f"{SIMULATED_PREFIX}charger-{n}", req.location_id, s.ResourceType.CHARGER),
                (f"{SIMULATED_PREFIX}vehicle-{n}", None, s.ResourceType.VEHICLE),
            ):
                if resource_id not in self.resources:
                    self.create_resource(user_id, location_id, resource_id, kind)

    def clear_simulated_partner(self) -> None:
        """``DELETE /simulation/partner``: remove every simulated user with what is under it."""
        for user_id in [u for u in self.users if u.startswith(SIMULATED_PREFIX)]:
            self.delete_user(user_id)
    def record_location_energy_usage(self, request: s.PostReportRequest) -> None:
        """Keep the points of a report's ``LocationEnergyUsage`` payloads; a later report's point
        for the same location and time replaces the earlier one (a correction)."""
        for payload in request.payloads or ():
            if not isinstance(payload, s.LocationEnergyUsageReportPayload):
                continue
            current = self.location_energy_usage.setdefault(payload.location_id, {})
            for point in payload.points or ():
                start = int(point.timestamp.timestamp())
                current[start] = point.kilo_watt_hours
                key = (payload.location_id, start)
                self.location_energy_postings[key] = self.location_energy_postings.get(key, 0) + 1

    # ------------------------------------------------------------ users

    def user(self, user_id: str) -> User:
        found = self.users.get(user_id)
        if found is None:
            raise NotFound(f"user {user_id} not found")
        return found

    def create_users(self, user_ids: Iterable[str]) -> tuple[list[str], int]:
        """Create users that do not exist yet; return all ids and how many were new."""
        ids: list[str] = []
        new = 0
        users = self.users
        for user_id in user_ids:
            if not user_id:
                raise Invalid("userId must not be empty")
            ids.append(user_id)
        for user_id in ids:
            if user_id in users:
                continue
            users[user_id] = User(user_id)
            new += 1
        self.stats.count_duplicate("user", len(ids) - new)
        return ids, new

    def delete_user(self, user_id: str) -> None:
        user = self.user(user_id)
        was_eligible = self.is_user_eligible(user_id)
        for location_id in list(user.locations):
            self._drop_location(self.locations[location_id])
        for resource_id in list(user.resources):
            self.resources.pop(resource_id, None)
        del self.users[user_id]
        if was_eligible:
            self._emit_eligibility([], [user_id])

    def is_user_eligible(self, user_id: str) -> bool:
        user = self.users.get(user_id)
        if user is None:
            return False
        return any(self.locations[lid].eligible for lid in user.locations)

    def eligible_user_ids(self) -> list[str]:
        return [uid for uid in self.users if self.is_user_eligible(uid)]

    def is_meter_point_eligible(self, mpid: str) -> bool:
        return any(loc.eligible and mpid in loc.meter_point_ids for loc in self.locations.values())

    # ------------------------------------------------------------ locations

    def location(self, user_id: str, location_id: str) -> Location:
        self.user(user_id)
        found = self.locations.get(location_id)
        if found is None or found.user_id != user_id:
            raise NotFound(f"location {location_id} not found for user {user_id}")
        return found

    def _build_location(
        self, user_id: str, req: s.PostLocationRequest | s.PostLocationWithUserRequest
    ) -> Location:
        if not req.location_id:
            raise Invalid("locationId must not be empty")
        mpids = _merged_mpids(req.meter_point_id, req.meter_point_ids)
        coords = _coords(req.coordinates)
        _require_place(req.location_id, mpids, coords)
        return Location(req.location_id, user_id, req.location_type, coords, mpids)

    def _check_new_location(self, loc: Location) -> bool:
        """Return True when ``loc`` already exists identically; raise on a conflict."""
        existing = self.locations.get(loc.location_id)
        if existing is None:
            return False
        if existing.user_id != loc.user_id:
            raise Conflict(f"location {loc.location_id} belongs to another user")
        if existing.content() != loc.content():
            raise Conflict(f"location {loc.location_id} exists with other content")
        return True

    def _insert_location(self, loc: Location) -> None:
        loc.eligible = loc.coordinates is not None and is_eligible(*loc.coordinates)
        self.locations[loc.location_id] = loc
        self.users[loc.user_id].locations[loc.location_id] = None

    def create_location(self, user_id: str, req: s.PostLocationRequest) -> tuple[Location, bool]:
        """Create a location; return it and whether it is new (False: identical re-create)."""
        self.user(user_id)
        loc = self._build_location(user_id, req)
        if self._check_new_location(loc):
            self.stats.count_duplicate("location")
            return self.locations[loc.location_id], False
        with self._eligibility_watch([user_id]):
            self._insert_location(loc)
        return loc, True

    def create_locations(
        self, reqs: Sequence[s.PostLocationWithUserRequest]
    ) -> tuple[list[Location], int]:
        """Create many locations atomically: all are checked before any is stored."""
        planned: dict[str, Location] = {}
        results: list[Location] = []
        duplicates = 0
        for req in reqs:
            if req.user_id not in self.users:
                raise NotFound(f"user {req.user_id} not found")
            loc = self._build_location(req.user_id, req)
            earlier = planned.get(loc.location_id)
            if earlier is not None:
                if earlier.user_id != loc.user_id or earlier.content() != loc.content():
                    raise Conflict(f"location {loc.location_id} appears twice with other content")
                duplicates += 1
                continue
            if self._check_new_location(loc):
                duplicates += 1
                results.append(self.locations[loc.location_id])
                continue
            planned[loc.location_id] = loc
            results.append(loc)
        with self._eligibility_watch({loc.user_id for loc in planned.values()}):
            for loc in planned.values():
                self._insert_location(loc)
        self.stats.count_duplicate("location", duplicates)
        return results, len(planned)

    def replace_location(
        self, user_id: str, location_id: str, req: s.PutLocationRequest
    ) -> Location:
        current = self.location(user_id, location_id)
        if req.location_id != location_id:
            raise Invalid("locationId in the body must match the path")
        loc = self._build_location(user_id, req)
        return self._update_location(
            current, loc.location_type, loc.coordinates, loc.meter_point_ids
        )

    def patch_location(
        self, user_id: str, location_id: str, req: s.PatchLocationRequest
    ) -> Location:
        current = self.location(user_id, location_id)
        location_type = (
            req.location_type if req.location_type is not None else current.location_type
        )
        coords = _coords(req.coordinates) if req.coordinates is not None else current.coordinates
        mpids = (
            _merged_mpids(None, req.meter_point_ids)
            if req.meter_point_ids is not None
            else current.meter_point_ids
        )
        _require_place(location_id, mpids, coords)
        return self._update_location(current, location_type, coords, mpids)

    def _update_location(
        self,
        loc: Location,
        location_type: s.LocationType | None,
        coords: tuple[float, float] | None,
        mpids: tuple[str, ...],
    ) -> Location:
        with self._eligibility_watch([loc.user_id]):
            loc.location_type = location_type
            loc.coordinates = coords
            loc.meter_point_ids = mpids
            loc.eligible = coords is not None and is_eligible(*coords)
        return loc

    def delete_location(self, user_id: str, location_id: str) -> None:
        loc = self.location(user_id, location_id)
        with self._eligibility_watch([user_id]):
            self._drop_location(loc)

    def _drop_location(self, loc: Location) -> None:
        for resource_id in loc.resources:
            self.resources.pop(resource_id, None)
            self.users[loc.user_id].resources.pop(resource_id, None)
        del self.locations[loc.location_id]
        self.users[loc.user_id].locations.pop(loc.location_id, None)

    # ------------------------------------------------------------ resources

    def resource(self, resource_id: str) -> Resource:
        found = self.resources.get(resource_id)
        if found is None:
            raise NotFound(f"resource {resource_id} not found")
        return found

    def create_resource(
        self,
        user_id: str,
        location_id: str | None,
        resource_id: str,
        resource_type: s.ResourceType,
        meter_point_id: str | None = None,
    ) -> tuple[Resource, bool]:
        """Create a resource (at a location, or a vehicle); return it and whether it is new."""
        loc = self.location(user_id, location_id) if location_id else None
        self.user(user_id)
        if not resource_id:
            raise Invalid("resourceId must not be empty")
        res = Resource(resource_id, user_id, location_id, resource_type, meter_point_id)
        existing = self.resources.get(resource_id)
        if existing is not None:
            if existing.content() != res.content():
                raise Conflict(f"resource {resource_id} exists with other content or parent")
            self.stats.count_duplicate("resource")
            return existing, False
        self.resources[resource_id] = res
        self.users[user_id].resources[resource_id] = None
        if loc is not None:
            loc.resources[resource_id] = None
        return res, True

    def delete_resource(self, resource_id: str) -> None:
        res = self.resource(resource_id)
        del self.resources[resource_id]
        self.users[res.user_id].resources.pop(resource_id, None)
        if res.location_id is not None:
            self.locations[res.location_id].resources.pop(resource_id, None)

    # ------------------------------------------------------------ events

    def emit(self, payload: s.SparkEventPayload) -> Event:
        """Record an event and hand it to the webhook deliverer."""
        event = Event(str(uuid.uuid4()), utcnow(), payload)
        self.events[event.id] = event
        self.event_list.append(event)
        if self.on_event is not None:
            self.on_event(event)
        return event

    def event(self, event_id: str) -> Event:
        found = self.events.get(event_id)
        if found is None:
            raise NotFound(f"event {event_id} not found")
        return found

    def _emit_eligibility(self, added: list[str], removed: list[str]) -> None:
        self.emit(
            s.UserEligibilityPayload(
                last_updated=utcnow(), added_users=added, removed_users=removed
            )
        )

    def _eligibility_watch(self, user_ids: Iterable[str]) -> _EligibilityWatch:
        return _EligibilityWatch(self, list(user_ids))

    def price_curve_targets(self) -> list[s.PriceCurveTarget]:
        """Every resource at an eligible location: who receives price curves."""
        return [
            s.PriceCurveTarget(resource_id=rid, location_id=loc.location_id)
            for loc in self.locations.values()
            if loc.eligible
            for rid in loc.resources
        ]

    def check_price_curve_targets(self, targets: Iterable[s.PriceCurveTarget]) -> None:
        for target in targets:
            res = self.resources.get(target.resource_id)
            if res is None or res.location_id != target.location_id:
                raise Invalid(
                    f"resource {target.resource_id} is not at location {target.location_id}"
                )

    def generated_price_curve(self, hours: int = 24) -> s.PriceCurve:
        """A day of hourly prices from the emulator's seeded RNG, starting next full hour."""
        start = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        points = [
            s.PriceCurvePoint(
                price=round(self.rng.uniform(0.05, 1.0), 4),
                timestamp=start + timedelta(hours=h),
            )
            for h in range(hours)
        ]
        return s.PriceCurve(
            points=points,
            energy_unit=s.EnergyUnit.KWH,
            currency=s.Currency.NOK,
            resolution="01:00:00",
        )


class _EligibilityWatch:
    """Emits one ``UserEligibility`` event for users whose eligibility a change flipped."""

    def __init__(self, state: VolueState, user_ids: list[str]) -> None:
        self.state = state
        self.user_ids = user_ids
        self.before: dict[str, bool] = {}

    def __enter__(self) -> None:
        self.before = {uid: self.state.is_user_eligible(uid) for uid in self.user_ids}

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            return
        added: list[str] = []
        removed: list[str] = []
        for uid, was in self.before.items():
            now = self.state.is_user_eligible(uid)
            if now and not was:
                added.append(uid)
            elif was and not now:
                removed.append(uid)
        if added or removed:
            self.state._emit_eligibility(added, removed)
