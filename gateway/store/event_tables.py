"""Tables of Volue events, webhook subscriptions and their deliveries, and reports.

Registered with the metadata by ``gateway.store.tables``.
"""

from __future__ import annotations
