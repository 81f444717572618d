"""The console's record pages: the customers list (sync status, "has problems", paging),
a customer's page (records by name with each provider's state, open tasks, sync history),
the search by any id, and one task's page."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter, QueryParameter
from litestar.response import Template

from gateway.console import customer_views, lookup
from gateway.console.auth import require_session
from gateway.console.render import page
from gateway.runtime.process import Runtime

PageNumber = Annotated[int, Parameter(ge=1, le=1_000_000, description="the page, from 1")]


class RecordPages(Controller):
    path = "/console"
    include_in_schema = False
    guards = [require_session]

    @get("/customers", summary="Customers by name, email or externalRef, with their sync status, paged")
    async def customers(self, request: Request[Any, Any, Any],
                        q: Annotated[str, Parameter(max_length=200)] = "",
                        problems: Annotated[bool, Parameter(description="only those with problems")] = False,
                        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)] = 1,
                        ) -> Template:
        async with Runtime.of(request).sessions() as session:
            found = await customer_views.list_customers(session, q.strip(), problems_only=problems,
                                                        page=page_number)
        return page(request, "customers.html", "customers", found=found)

    @get("/customers/{customer_id:str}",
         summary="A customer's records with each provider's state, its open tasks and sync history")
    async def customer(self, request: Request[Any, Any, Any], customer_id: str,
                       before: Annotated[int | None, Parameter(ge=1, description="older calls")] = None,
                       ) -> Template:
        async with Runtime.of(request).sessions() as session:
            tree = await customer_views.customer_page(session, customer_id, before=before)
        return page(request, "customer.html", "customers", tree=tree, before=before)

    @get("/search", summary="Find a record by any id: ours, a provider's, or an externalRef")
    async def search(self, request: Request[Any, Any, Any],
                     q: Annotated[str, Parameter(max_length=200)] = "") -> Template:
        async with Runtime.of(request).sessions() as session:
            hits = await lookup.search(session, q)
        return page(request, "search.html", "", q=q.strip(), hits=hits)

    @get("/tasks/{task_id:str}", summary="One outbox task: state, attempts, next try and its upstream calls")
    async def task(self, request: Request[Any, Any, Any], task_id: str) -> Template:
        async with Runtime.of(request).sessions() as session:
            found = await lookup.task_page(session, task_id)
        return page(request, "task.html", "", found=found)
