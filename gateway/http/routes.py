"""Which methods a path answers: the ``Allow`` header of ``OPTIONS`` and of 405 answers.

Litestar's automatic ``OPTIONS`` answer lists the methods of one route handler group,
which misses methods served by another controller at the same path; this lists all.
"""

from __future__ import annotations

import re
from functools import lru_cache

from litestar import Litestar
from litestar.routes import HTTPRoute

_PARAM = re.compile(r"\{[^}]+\}")


@lru_cache(maxsize=8)
def _patterns(app: Litestar) -> tuple[tuple[re.Pattern[str], frozenset[str]], ...]:
    found: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            template = (route.path_format or "/").rstrip("/") or "/"
            found.setdefault(template, set()).update(route.methods)
    return tuple(
        (re.compile("^" + _PARAM.sub("[^/]+", re.escape(t).replace(r"\{", "{").replace(r"\}", "}"))
                    + "/?$"), frozenset(methods))
        for t, methods in found.items()
    )


def allowed_methods(app: Litestar, path: str) -> list[str]:
    """Every method some route at ``path`` answers, with ``OPTIONS``; sorted."""
    methods: set[str] = set()
    for pattern, route_methods in _patterns(app):
        if pattern.match(path):
            methods |= route_methods
    return sorted(methods | {"OPTIONS"}) if methods else []
