"""Tables of readings, their delivery state, and invites.

Registered with the metadata by ``gateway.store.tables``.
"""

from __future__ import annotations
