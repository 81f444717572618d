"""Paging of the console's lists: a page number, the page size and the total count, so a list
says how many there are and never stops silently at its first page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel.ext.asyncio.session import AsyncSession

PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class Paging:
    """Where one page of a list stands: ``number`` counts from 1."""

    number: int
    per_page: int
    total: int
    path: str
    """The list's path with its filters (the page's query parameter is added to it)."""
    params: tuple[tuple[str, str], ...] = ()

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def first(self) -> int:
        """The position (from 1) of the page's first item; 0 when the list is empty."""
        return min(self.total, self.offset + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.offset + self.per_page)

    def href(self, number: int) -> str:
        query = [*[(k, v) for k, v in self.params if v], ("page", str(number))]
        return f"{self.path}?{urlencode(query)}"

    @property
    def previous(self) -> str | None:
        return self.href(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        return self.href(self.number + 1) if self.number < self.pages else None


async def count(session: AsyncSession, statement: Any) -> int:
    """How many rows ``statement`` (a select, before ordering and limits) finds."""
    total = await session.execute(sa_select(func.count()).select_from(statement.order_by(None).subquery()))
    return int(total.scalar_one())


def paging(number: int, total: int, path: str, *params: tuple[str, str], per_page: int = PER_PAGE) -> Paging:
    """The page asked for, within the pages there are (a number past the end shows the last)."""
    pages = max(1, -(-total // per_page))
    return Paging(number=min(max(1, number), pages), per_page=per_page, total=total, path=path,
                  params=tuple(params))


def pretty(body: Any) -> str | None:
    """A stored body (JSON text, a decoded value, or other text) as indented text for a page."""
    if body is None or body == "":
        return None
    value = body
    if isinstance(body, (bytes, bytearray)):
        value = body.decode("utf-8", "replace")
    if isinstance(value, str):
        text: str = value
        try:
            value = json.loads(text)
        except ValueError:
            return text
    shown: str = json.dumps(value, indent=2, ensure_ascii=False)
    return shown
