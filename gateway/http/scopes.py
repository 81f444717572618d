"""The scope each API route needs, as route options (``opt=``) for the auth guard.

Every feature's controllers take their route's scope from here, so no feature imports
another's controllers for it. The guard (:mod:`gateway.http.deps`) reads ``opt["scope"]``.
"""

from __future__ import annotations

from typing import Final

from gateway.http.apikeys import Scope

READ: Final = {"scope": Scope.CUSTOMERS_READ.value}
"""Reads of customers and what hangs off them (sites, devices, readings, energy, events)."""
WRITE: Final = {"scope": Scope.CUSTOMERS_WRITE.value}
"""Writes of customers and what hangs off them."""
WRITE_READINGS: Final = {"scope": Scope.READINGS_WRITE.value}
"""Meter reading ingest."""
WRITE_INVITES: Final = {"scope": Scope.INVITES_WRITE.value}
"""Zählerfreunde user invites."""
OPS: Final = {"scope": Scope.OPS.value}
"""Operations: outbox tasks, resyncs, event subscriptions."""
