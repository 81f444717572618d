"""An idle arq worker's crons stay out of the log; crons that did something and other jobs stay in."""

from __future__ import annotations

import logging

import pytest

from gateway.observability.logging import QuietCrons

START = "%6.2fs → %s(%s)%s"
END = "%6.2fs ← %s ● %s"


def _record(msg: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("arq.worker", level, __file__, 1, msg, args, None)


@pytest.mark.parametrize("result", ["None", "0", "[]", "()", "{}", "(0, 0, 0)", "False"])
def test_idle_cron_runs_are_dropped(result: str) -> None:
    """A cron's start line always, and its end line when its result says it did nothing."""
    quiet = QuietCrons()
    assert not quiet.filter(_record(START, 0.01, "cron:relay", "", ""))
    assert not quiet.filter(_record(END, 0.01, "cron:relay", result))


@pytest.mark.parametrize("result", ["3", "['evt-1']", "(0, 2, 0)", "'done'"])
def test_cron_runs_that_did_something_keep_their_end_line(result: str) -> None:
    """A result with anything in it is logged."""
    assert QuietCrons().filter(_record(END, 0.01, "cron:relay", result))


def test_other_jobs_and_other_levels_are_kept() -> None:
    """Queued jobs, warnings and arq's other lines pass untouched."""
    quiet = QuietCrons()
    assert quiet.filter(_record(START, 0.01, "abc123:drain_provider", "'volue'", ""))
    assert quiet.filter(_record(END, 0.01, "abc123:drain_provider", "0"))
    assert quiet.filter(_record(END, 0.01, "cron:relay", "None", level=logging.WARNING))
    assert quiet.filter(_record("Starting worker for %d functions: %s", 3, "relay"))


def test_configure_logging_installs_it_once() -> None:
    """The filter sits on arq's worker logger once, however often logging is configured."""
    from gateway.observability.logging import configure_logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging(fmt="json")
        configure_logging(fmt="json")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert sum(isinstance(f, QuietCrons) for f in logging.getLogger("arq.worker").filters) == 1
