from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    action: None | str | Unset = UNSET,
    actor: None | str | Unset = UNSET,
    target: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_action: None | str | Unset
    if isinstance(action, Unset):
        json_action = UNSET
    else:
        json_action = action
    params["action"] = json_action

    json_actor: None | str | Unset
    if isinstance(actor, Unset):
        json_actor = UNSET
    else:
        json_actor = actor
    params["actor"] = json_actor

    json_target: None | str | Unset
    if isinstance(target, Unset):
        json_target = UNSET
    else:
        json_target = target
    params["target"] = json_target

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/audit",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | None:
    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())



        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    action: None | str | Unset = UNSET,
    actor: None | str | Unset = UNSET,
    target: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Response[Problem]:
    """ The audit trail of ops actions, newest first

     Retries, dismissals, resyncs, repairs, enrollments, invites, API keys and redeliveries, from the
    API, the console and the CLI: who, what, when, and the result. `actor` matches an API key's id or
    name (or a host user), `target` a whole target (`task:<id>`) or its id.

    Args:
        action (None | str | Unset):
        actor (None | str | Unset):
        target (None | str | Unset):
        cursor (None | str | Unset): the `nextCursor` of the previous page; absent for the first
            page
        limit (int | Unset): the most items on one page Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem]
     """


    kwargs = _get_kwargs(
        action=action,
actor=actor,
target=target,
cursor=cursor,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    action: None | str | Unset = UNSET,
    actor: None | str | Unset = UNSET,
    target: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Problem | None:
    """ The audit trail of ops actions, newest first

     Retries, dismissals, resyncs, repairs, enrollments, invites, API keys and redeliveries, from the
    API, the console and the CLI: who, what, when, and the result. `actor` matches an API key's id or
    name (or a host user), `target` a whole target (`task:<id>`) or its id.

    Args:
        action (None | str | Unset):
        actor (None | str | Unset):
        target (None | str | Unset):
        cursor (None | str | Unset): the `nextCursor` of the previous page; absent for the first
            page
        limit (int | Unset): the most items on one page Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem
     """


    return sync_detailed(
        client=client,
action=action,
actor=actor,
target=target,
cursor=cursor,
limit=limit,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    action: None | str | Unset = UNSET,
    actor: None | str | Unset = UNSET,
    target: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Response[Problem]:
    """ The audit trail of ops actions, newest first

     Retries, dismissals, resyncs, repairs, enrollments, invites, API keys and redeliveries, from the
    API, the console and the CLI: who, what, when, and the result. `actor` matches an API key's id or
    name (or a host user), `target` a whole target (`task:<id>`) or its id.

    Args:
        action (None | str | Unset):
        actor (None | str | Unset):
        target (None | str | Unset):
        cursor (None | str | Unset): the `nextCursor` of the previous page; absent for the first
            page
        limit (int | Unset): the most items on one page Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem]
     """


    kwargs = _get_kwargs(
        action=action,
actor=actor,
target=target,
cursor=cursor,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    action: None | str | Unset = UNSET,
    actor: None | str | Unset = UNSET,
    target: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Problem | None:
    """ The audit trail of ops actions, newest first

     Retries, dismissals, resyncs, repairs, enrollments, invites, API keys and redeliveries, from the
    API, the console and the CLI: who, what, when, and the result. `actor` matches an API key's id or
    name (or a host user), `target` a whole target (`task:<id>`) or its id.

    Args:
        action (None | str | Unset):
        actor (None | str | Unset):
        target (None | str | Unset):
        cursor (None | str | Unset): the `nextCursor` of the previous page; absent for the first
            page
        limit (int | Unset): the most items on one page Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem
     """


    return (await asyncio_detailed(
        client=client,
action=action,
actor=actor,
target=target,
cursor=cursor,
limit=limit,

    )).parsed
