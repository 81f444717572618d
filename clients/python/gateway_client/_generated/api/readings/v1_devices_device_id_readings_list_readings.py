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
    device_id: str,
    *,
    from_: None | str | Unset = UNSET,
    to: None | str | Unset = UNSET,
    obis_code: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_from_: None | str | Unset
    if isinstance(from_, Unset):
        json_from_ = UNSET
    else:
        json_from_ = from_
    params["from"] = json_from_

    json_to: None | str | Unset
    if isinstance(to, Unset):
        json_to = UNSET
    else:
        json_to = to
    params["to"] = json_to

    json_obis_code: None | str | Unset
    if isinstance(obis_code, Unset):
        json_obis_code = UNSET
    else:
        json_obis_code = obis_code
    params["obisCode"] = json_obis_code

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
        "url": "/v1/devices/{device_id}/readings".format(device_id=quote(str(device_id), safe=""),),
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

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

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
    device_id: str,
    *,
    client: AuthenticatedClient,
    from_: None | str | Unset = UNSET,
    to: None | str | Unset = UNSET,
    obis_code: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Response[Problem]:
    """ A device's stored readings with their delivery status, oldest first

    Args:
        device_id (str):
        from_ (None | str | Unset): ISO 8601 or epoch s, inclusive
        to (None | str | Unset): ISO 8601 or epoch s, exclusive
        obis_code (None | str | Unset):
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
        device_id=device_id,
from_=from_,
to=to,
obis_code=obis_code,
cursor=cursor,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    device_id: str,
    *,
    client: AuthenticatedClient,
    from_: None | str | Unset = UNSET,
    to: None | str | Unset = UNSET,
    obis_code: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Problem | None:
    """ A device's stored readings with their delivery status, oldest first

    Args:
        device_id (str):
        from_ (None | str | Unset): ISO 8601 or epoch s, inclusive
        to (None | str | Unset): ISO 8601 or epoch s, exclusive
        obis_code (None | str | Unset):
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
        device_id=device_id,
client=client,
from_=from_,
to=to,
obis_code=obis_code,
cursor=cursor,
limit=limit,

    ).parsed

async def asyncio_detailed(
    device_id: str,
    *,
    client: AuthenticatedClient,
    from_: None | str | Unset = UNSET,
    to: None | str | Unset = UNSET,
    obis_code: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Response[Problem]:
    """ A device's stored readings with their delivery status, oldest first

    Args:
        device_id (str):
        from_ (None | str | Unset): ISO 8601 or epoch s, inclusive
        to (None | str | Unset): ISO 8601 or epoch s, exclusive
        obis_code (None | str | Unset):
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
        device_id=device_id,
from_=from_,
to=to,
obis_code=obis_code,
cursor=cursor,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    device_id: str,
    *,
    client: AuthenticatedClient,
    from_: None | str | Unset = UNSET,
    to: None | str | Unset = UNSET,
    obis_code: None | str | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 100,

) -> Problem | None:
    """ A device's stored readings with their delivery status, oldest first

    Args:
        device_id (str):
        from_ (None | str | Unset): ISO 8601 or epoch s, inclusive
        to (None | str | Unset): ISO 8601 or epoch s, exclusive
        obis_code (None | str | Unset):
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
        device_id=device_id,
client=client,
from_=from_,
to=to,
obis_code=obis_code,
cursor=cursor,
limit=limit,

    )).parsed
