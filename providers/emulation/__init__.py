"""What both provider emulators share: faults, counters, tokens, control surface, serving.

Each emulator owns one :class:`Emulation`. :func:`fault_middleware` (``middleware.py``) injects
the faults of the current :class:`FaultPlan` (``faults.py``: latency, 5xx, 429 with
``Retry-After``, dropped connections, slow answers past the client's timeout, lost
answers) before a route handler runs and counts every answered request per route
template and status (``stats.py``);
:func:`control_router` mounts the control surface under ``/_emulator``
(``control.py``, never faulted, never counted). ``answers.py`` makes answers stingy on
request: only what the provider's document requires. ``tokens.py`` issues the bearer
tokens, ``serving.py`` runs an app under uvicorn.
"""

from providers.emulation.answers import answer_middleware, encode_answer, minimal_answers
from providers.emulation.control import control_router
from providers.emulation.emulation import CONTROL_PREFIX, DEFAULT_TOKEN_PATHS, AnswerMode, Emulation
from providers.emulation.faults import ConnectionDropped, FaultPlan
from providers.emulation.middleware import fault_middleware
from providers.emulation.serving import install_drop_log_filter, serve, serve_in_thread
from providers.emulation.stats import EmulatorStats
from providers.emulation.tokens import TokenStore

__all__ = [
    "CONTROL_PREFIX",
    "DEFAULT_TOKEN_PATHS",
    "AnswerMode",
    "ConnectionDropped",
    "Emulation",
    "EmulatorStats",
    "FaultPlan",
    "TokenStore",
    "answer_middleware",
    "control_router",
    "encode_answer",
    "fault_middleware",
    "install_drop_log_filter",
    "minimal_answers",
    "serve",
    "serve_in_thread",
]
