"""In-memory state of the Volue emulator: users, locations, resources, events, webhooks.

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
from providers.volue.emulator.sandbox_areas import is_eligible

T = TypeVar("T")
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
        }

    def store_report(self, report: s.GetReportResponse, content: bytes) -> None:
        """Keep a posted report; ``content`` (its body in a canonical form) seen before counts as
        a duplicate."""
        digest = hashlib.sha256(content).digest()
        if digest in self._report_contents:
            self.stats.count_duplicate("report")
        self._report_contents.add(digest)
        self.reports[report.id] = report

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
