"""What every task kind does around its provider calls.

A kind asks the adapters for what it needs (a report sender, the programme, an
invite sender) once per round with :func:`capability`: when the configured
adapter lacks it, every task of the round fails for good with the reason and
the kind has nothing to send. Each task's provider calls run inside
:func:`provider_call`: their exchanges go to the task's call history
(``RoundResult.calls``) and a ``ProviderError`` becomes the task's error, which
the engine retries or fails by the error table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from gateway.core.domain import Provider
from providers.base import ProviderError
from providers.http import call_log
from providers.registry import MissingCapability

if TYPE_CHECKING:
    from gateway.outbox.engine import RoundResult

T = TypeVar("T")


def capability(results: Sequence[RoundResult], lookup: Callable[[Provider], T],
               provider: Provider) -> T | None:
    """``lookup(provider)``, or ``None`` with every result failed when the adapter lacks it."""
    try:
        return lookup(provider)
    except MissingCapability as exc:
        for result in results:
            result.fatal_reason = exc.message
        return None


@contextmanager
def provider_call(result: RoundResult) -> Iterator[None]:
    """Record the exchanges of the block on ``result`` and keep a ``ProviderError`` as its error.

    The error does not propagate: code after the block checks ``result.error``.
    """
    token = call_log.set(result.calls)
    try:
        yield
    except ProviderError as exc:
        result.error = exc
    finally:
        call_log.reset(token)
