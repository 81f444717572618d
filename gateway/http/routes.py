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
def _patterns(app: Litestar) -> tuple[tuple[re.Pattern[str], int, frozenset[str]], ...]:
    found: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            template = (route.path_format or "/").rstrip("/") or "/"
            found.setdefault(template, set()).update(route.methods)
    return tuple(
        (re.compile("^" + _PARAM.sub("[^/]+", re.escape(t).replace(r"\{", "{").replace(r"\}", "}"))
                    + "/?$"), len(_PARAM.findall(t)), frozenset(methods))
        for t, methods in found.items()
    )


def allowed_methods(app: Litestar, path: str) -> list[str]:
    """Every method some route at ``path`` answers, with ``OPTIONS``; sorted."""
    # as the router does, a path a literal template matches (``/v1/customers/batch``) is
    # not also one of the templates with a parameter there (``/v1/customers/{customer_id}``)
    matches = [(params, route_methods) for pattern, params, route_methods in _patterns(app)
               if pattern.match(path)]
    fewest = min((params for params, _ in matches), default=0)
    methods: set[str] = set()
    for params, route_methods in matches:
        if params == fewest:
            methods |= route_methods
    return sorted(methods | {"OPTIONS"}) if methods else []
