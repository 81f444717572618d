"""One emulator's shared state: its fault plan, answer mode, counters and tokens."""

from __future__ import annotations

import random
from collections.abc import Sequence

import msgspec

from providers.emulation.faults import FaultPlan
from providers.emulation.stats import EmulatorStats
from providers.emulation.tokens import TokenStore

DEFAULT_TOKEN_PATHS = ("/connect/token", "/auth/token")
CONTROL_PREFIX = "/_emulator"
"""Where each emulator serves its control routes (faults, stats, token revocation)."""


class AnswerMode(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """``PUT /_emulator/answers`` body: whether answers are the document's minimum
    (:mod:`providers.emulation.answers`)."""

    minimal: bool = False


class Emulation:
    """State common to both emulators: fault plan, answer mode, counters, tokens."""

    def __init__(
        self,
        *,
        token_ttl_s: float,
        seed: int = 0,
        token_paths: Sequence[str] = DEFAULT_TOKEN_PATHS,
    ) -> None:
        self.faults = FaultPlan(seed=seed)
        self.answers = AnswerMode()
        self.stats = EmulatorStats()
        self.tokens = TokenStore(ttl_s=token_ttl_s)
        self.token_paths = tuple(token_paths)
        self.rng = random.Random(seed)

    def set_faults(self, plan: FaultPlan) -> None:
        """Replace the fault plan and reseed the fault RNG from ``plan.seed``."""
        self.faults = plan
        self.rng = random.Random(plan.seed)

    def is_token_path(self, path: str) -> bool:
        """Whether ``path`` is one of the emulator's token endpoints."""
        return any(path.rstrip("/").endswith(tp) for tp in self.token_paths)

    def applies_to(self, path: str, method: str = "GET") -> bool:
        """Whether the current plan may inject faults into a ``method`` request for ``path``."""
        if path.startswith(CONTROL_PREFIX):
            return False
        if self.faults.methods and method.upper() not in {m.upper() for m in self.faults.methods}:
            return False
        listed = self.faults.paths
        if self.is_token_path(path):
            return any(p.rstrip("/") == path.rstrip("/") for p in listed)
        return not listed or any(path.startswith(p) for p in listed)


