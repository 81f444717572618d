"""Reports in the gateway's own terms: what a provider's report sink takes.

A :class:`Report` holds one or more items, each a curve or an answer about our own
records (ids are ours): a device's or a site's energy usage, a site's plan (baseline and
flexibility), or the answer to a load-power-control (LPC) request. A provider's report
format (``providers.base.ReportFormat``) renders a report as the request body it takes;
that body is stored with the report and later sent as it is.

Curves are in kWh per interval of ``interval_s`` seconds, each point named by the start of
its interval; the format decides their precision on the wire.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class EnergyPoint(msgspec.Struct, frozen=True):
    """The energy of one interval, named by its start (with a UTC offset)."""

    start: datetime
    kwh: float


class DeviceEnergyUsage(msgspec.Struct, frozen=True, kw_only=True, tag="device_energy_usage"):
    """The energy a device (not a meter) used, interval by interval."""

    device_id: str
    site_id: str | None
    meter_point_id: str | None = None
    interval_s: int
    points: list[EnergyPoint]


class SiteEnergyUsage(msgspec.Struct, frozen=True, kw_only=True, tag="site_energy_usage"):
    """The energy a site used, as measured at one of its meter points."""

    site_id: str
    meter_point_id: str
    interval_s: int
    points: list[EnergyPoint]


class SiteEnergyPlan(msgspec.Struct, frozen=True, kw_only=True, tag="site_energy_plan"):
    """The energy a site expects to use (``baseline``) and could shift (``flexibility``)."""

    site_id: str
    meter_point_id: str
    interval_s: int
    baseline: list[EnergyPoint]
    flexibility: list[EnergyPoint]


class LpcTarget(msgspec.Struct, frozen=True, kw_only=True):
    """One target of an LPC request: a site, or a device at a site (``device_id``)."""

    site_id: str
    meter_point_id: str
    device_id: str | None = None

    @property
    def target_id(self) -> str:
        """What callers name the target by: the device id, else the site id."""
        return self.device_id or self.site_id


class LpcRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An LPC request as far as answering it goes: whose limits it sets and from when."""

    devices: bool
    """Its targets are devices (else sites)."""
    targets: list[LpcTarget]
    starts: list[datetime]
    """When its limits start (UTC), in the request's order; empty when it names no points."""


class LpcAnswer(msgspec.Struct, frozen=True, kw_only=True, tag="lpc_answer"):
    """Which targets of an LPC request take the limit and which do not. A list left None is
    not stated (an empty list is: none)."""

    devices: bool
    accepted: list[LpcTarget] | None = None
    declined: list[LpcTarget] | None = None


ReportItem = DeviceEnergyUsage | SiteEnergyUsage | SiteEnergyPlan | LpcAnswer


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """One report: its items, and the provider's event it answers (if any)."""

    items: list[ReportItem]
    event_id: str | None = None
