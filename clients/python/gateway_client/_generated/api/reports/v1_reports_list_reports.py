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
    customer_id: None | str | Unset = UNSET,
    site_id: None | str | Unset = UNSET,
    device_id: None | str | Unset = UNSET,
    kind: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_customer_id: None | str | Unset
    if isinstance(customer_id, Unset):
        json_customer_id = UNSET
    else:
        json_customer_id = customer_id
    params["customerId"] = json_customer_id

    json_site_id: None | str | Unset
    if isinstance(site_id, Unset):
        json_site_id = UNSET
    else:
        json_site_id = site_id
    params["siteId"] = json_site_id

    json_device_id: None | str | Unset
    if isinstance(device_id, Unset):
        json_device_id = UNSET
    else:
        json_device_id = device_id
    params["deviceId"] = json_device_id

    json_kind: None | str | Unset
    if isinstance(kind, Unset):
        json_kind = UNSET
    else:
        json_kind = kind
    params["kind"] = json_kind

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
        "url": "/v1/reports",
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
    customer_id: None | str | Unset = UNSET,
    site_id: None | str | Unset = UNSET,
    device_id: None | str | Unset = UNSET,
    kind: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Response[Problem]:
    """ Reports, newest first; every filter given must match

    Args:
        customer_id (None | str | Unset):
        site_id (None | str | Unset):
        device_id (None | str | Unset):
        kind (None | str | Unset):
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
        customer_id=customer_id,
site_id=site_id,
device_id=device_id,
kind=kind,
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
    customer_id: None | str | Unset = UNSET,
    site_id: None | str | Unset = UNSET,
    device_id: None | str | Unset = UNSET,
    kind: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Problem | None:
    """ Reports, newest first; every filter given must match

    Args:
        customer_id (None | str | Unset):
        site_id (None | str | Unset):
        device_id (None | str | Unset):
        kind (None | str | Unset):
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
customer_id=customer_id,
site_id=site_id,
device_id=device_id,
kind=kind,
cursor=cursor,
limit=limit,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    customer_id: None | str | Unset = UNSET,
    site_id: None | str | Unset = UNSET,
    device_id: None | str | Unset = UNSET,
    kind: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Response[Problem]:
    """ Reports, newest first; every filter given must match

    Args:
        customer_id (None | str | Unset):
        site_id (None | str | Unset):
        device_id (None | str | Unset):
        kind (None | str | Unset):
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
        customer_id=customer_id,
site_id=site_id,
device_id=device_id,
kind=kind,
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
    customer_id: None | str | Unset = UNSET,
    site_id: None | str | Unset = UNSET,
    device_id: None | str | Unset = UNSET,
    kind: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Problem | None:
    """ Reports, newest first; every filter given must match

    Args:
        customer_id (None | str | Unset):
        site_id (None | str | Unset):
        device_id (None | str | Unset):
        kind (None | str | Unset):
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
customer_id=customer_id,
site_id=site_id,
device_id=device_id,
kind=kind,
cursor=cursor,
limit=limit,

    )).parsed
