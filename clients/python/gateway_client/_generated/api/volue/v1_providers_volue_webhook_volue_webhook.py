from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.event_notification import EventNotification
from ...models.problem import Problem
from ...models.received import Received
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    body: EventNotification,
    x_payload_signature: None | str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_payload_signature, Unset):
        headers["x-payload-signature"] = x_payload_signature



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/providers/volue/webhook",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Received | None:
    if response.status_code == 200:
        response_200 = Received.from_dict(response.json())



        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | Received]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EventNotification,
    x_payload_signature: None | str | Unset = UNSET,

) -> Response[Problem | Received]:
    """ Receive a Volue event notification

     Authenticated by `x-payload-signature` (base64 HMAC-SHA256 of the exact body) instead of an API key:
    401 without a valid one. The handler reads the body itself, since the signature covers its exact
    bytes. A notification whose `notificationSentUtc` is older than `GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S`
    (or more than 5 minutes ahead) is a 400 naming that field.

    Args:
        x_payload_signature (None | str | Unset): base64(HMAC-SHA256(body, webhook secret))
        body (EventNotification): The body Volue POSTs to a webhook (``webhook-server-
            openapi.yaml``).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Received]
     """


    kwargs = _get_kwargs(
        body=body,
x_payload_signature=x_payload_signature,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient | Client,
    body: EventNotification,
    x_payload_signature: None | str | Unset = UNSET,

) -> Problem | Received | None:
    """ Receive a Volue event notification

     Authenticated by `x-payload-signature` (base64 HMAC-SHA256 of the exact body) instead of an API key:
    401 without a valid one. The handler reads the body itself, since the signature covers its exact
    bytes. A notification whose `notificationSentUtc` is older than `GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S`
    (or more than 5 minutes ahead) is a 400 naming that field.

    Args:
        x_payload_signature (None | str | Unset): base64(HMAC-SHA256(body, webhook secret))
        body (EventNotification): The body Volue POSTs to a webhook (``webhook-server-
            openapi.yaml``).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Received
     """


    return sync_detailed(
        client=client,
body=body,
x_payload_signature=x_payload_signature,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EventNotification,
    x_payload_signature: None | str | Unset = UNSET,

) -> Response[Problem | Received]:
    """ Receive a Volue event notification

     Authenticated by `x-payload-signature` (base64 HMAC-SHA256 of the exact body) instead of an API key:
    401 without a valid one. The handler reads the body itself, since the signature covers its exact
    bytes. A notification whose `notificationSentUtc` is older than `GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S`
    (or more than 5 minutes ahead) is a 400 naming that field.

    Args:
        x_payload_signature (None | str | Unset): base64(HMAC-SHA256(body, webhook secret))
        body (EventNotification): The body Volue POSTs to a webhook (``webhook-server-
            openapi.yaml``).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Received]
     """


    kwargs = _get_kwargs(
        body=body,
x_payload_signature=x_payload_signature,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EventNotification,
    x_payload_signature: None | str | Unset = UNSET,

) -> Problem | Received | None:
    """ Receive a Volue event notification

     Authenticated by `x-payload-signature` (base64 HMAC-SHA256 of the exact body) instead of an API key:
    401 without a valid one. The handler reads the body itself, since the signature covers its exact
    bytes. A notification whose `notificationSentUtc` is older than `GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S`
    (or more than 5 minutes ahead) is a 400 naming that field.

    Args:
        x_payload_signature (None | str | Unset): base64(HMAC-SHA256(body, webhook secret))
        body (EventNotification): The body Volue POSTs to a webhook (``webhook-server-
            openapi.yaml``).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Received
     """


    return (await asyncio_detailed(
        client=client,
body=body,
x_payload_signature=x_payload_signature,

    )).parsed
