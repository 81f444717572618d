from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.dismiss_request import DismissRequest
from ...models.dismissal_read import DismissalRead
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    task_id: str,
    *,
    body: DismissRequest,
    idempotency_key: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/sync/tasks/{task_id}/dismiss".format(task_id=quote(str(task_id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> DismissalRead | Problem | None:
    if response.status_code == 200:
        response_200 = DismissalRead.from_dict(response.json())



        return response_200

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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())



        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())



        return response_422

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[DismissalRead | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    task_id: str,
    *,
    client: AuthenticatedClient,
    body: DismissRequest,
    idempotency_key: str | Unset = UNSET,

) -> Response[DismissalRead | Problem]:
    """ Give up a dead or blocked task, with a reason

     The task (and the tasks waiting on it) will never run; it leaves the problem lists and counts. The
    reason, who and when are kept and shown in the audit trail.

    Args:
        task_id (str):
        idempotency_key (str | Unset):
        body (DismissRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DismissalRead | Problem]
     """


    kwargs = _get_kwargs(
        task_id=task_id,
body=body,
idempotency_key=idempotency_key,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    task_id: str,
    *,
    client: AuthenticatedClient,
    body: DismissRequest,
    idempotency_key: str | Unset = UNSET,

) -> DismissalRead | Problem | None:
    """ Give up a dead or blocked task, with a reason

     The task (and the tasks waiting on it) will never run; it leaves the problem lists and counts. The
    reason, who and when are kept and shown in the audit trail.

    Args:
        task_id (str):
        idempotency_key (str | Unset):
        body (DismissRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DismissalRead | Problem
     """


    return sync_detailed(
        task_id=task_id,
client=client,
body=body,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    task_id: str,
    *,
    client: AuthenticatedClient,
    body: DismissRequest,
    idempotency_key: str | Unset = UNSET,

) -> Response[DismissalRead | Problem]:
    """ Give up a dead or blocked task, with a reason

     The task (and the tasks waiting on it) will never run; it leaves the problem lists and counts. The
    reason, who and when are kept and shown in the audit trail.

    Args:
        task_id (str):
        idempotency_key (str | Unset):
        body (DismissRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DismissalRead | Problem]
     """


    kwargs = _get_kwargs(
        task_id=task_id,
body=body,
idempotency_key=idempotency_key,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    task_id: str,
    *,
    client: AuthenticatedClient,
    body: DismissRequest,
    idempotency_key: str | Unset = UNSET,

) -> DismissalRead | Problem | None:
    """ Give up a dead or blocked task, with a reason

     The task (and the tasks waiting on it) will never run; it leaves the problem lists and counts. The
    reason, who and when are kept and shown in the audit trail.

    Args:
        task_id (str):
        idempotency_key (str | Unset):
        body (DismissRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DismissalRead | Problem
     """


    return (await asyncio_detailed(
        task_id=task_id,
client=client,
body=body,
idempotency_key=idempotency_key,

    )).parsed
