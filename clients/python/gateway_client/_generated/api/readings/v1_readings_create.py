from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.ingest_result import IngestResult
from ...models.problem import Problem
from ...models.readings_body import ReadingsBody
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    body: ReadingsBody,
    idempotency_key: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/readings",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> IngestResult | Problem | None:
    if response.status_code == 202:
        response_202 = IngestResult.from_dict(response.json())



        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[IngestResult | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ReadingsBody,
    idempotency_key: str | Unset = UNSET,

) -> Response[IngestResult | Problem]:
    """ Store up to 10,000 meter readings; each item is accepted or refused on its own

     Items name the device by `deviceId` or `deviceExternalRef`. `timestamp` is ISO 8601 with a UTC
    offset, or epoch seconds; numbers of 100,000,000,000 and more are read as epoch milliseconds.
    Readings are kept per second and are unique per (device, OBIS code, timestamp): a repeat counts as a
    duplicate. Refused per item: NaN or infinite values, unknown or deleted devices, devices that are
    not meters, OBIS codes whose medium is not the meter's, codes Zählerfreunde does not take (for its
    customers) and timestamps more than GATEWAY_READINGS_FUTURE_TOLERANCE_S in the future. Readings of
    meters whose customer is enrolled at Zählerfreunde are delivered there; readings of other customers
    are stored only (delivery status `not_sent`). The body limit is GATEWAY_READINGS_MAX_BODY_BYTES. The
    handler reads the body itself (streamed, items checked one by one), so the body schema is documented
    rather than decoded up front.

    Args:
        idempotency_key (str | Unset):
        body (ReadingsBody): ``POST /v1/readings`` as documented: items are checked one by one, so
            not constrained here.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[IngestResult | Problem]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: ReadingsBody,
    idempotency_key: str | Unset = UNSET,

) -> IngestResult | Problem | None:
    """ Store up to 10,000 meter readings; each item is accepted or refused on its own

     Items name the device by `deviceId` or `deviceExternalRef`. `timestamp` is ISO 8601 with a UTC
    offset, or epoch seconds; numbers of 100,000,000,000 and more are read as epoch milliseconds.
    Readings are kept per second and are unique per (device, OBIS code, timestamp): a repeat counts as a
    duplicate. Refused per item: NaN or infinite values, unknown or deleted devices, devices that are
    not meters, OBIS codes whose medium is not the meter's, codes Zählerfreunde does not take (for its
    customers) and timestamps more than GATEWAY_READINGS_FUTURE_TOLERANCE_S in the future. Readings of
    meters whose customer is enrolled at Zählerfreunde are delivered there; readings of other customers
    are stored only (delivery status `not_sent`). The body limit is GATEWAY_READINGS_MAX_BODY_BYTES. The
    handler reads the body itself (streamed, items checked one by one), so the body schema is documented
    rather than decoded up front.

    Args:
        idempotency_key (str | Unset):
        body (ReadingsBody): ``POST /v1/readings`` as documented: items are checked one by one, so
            not constrained here.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        IngestResult | Problem
     """


    return sync_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ReadingsBody,
    idempotency_key: str | Unset = UNSET,

) -> Response[IngestResult | Problem]:
    """ Store up to 10,000 meter readings; each item is accepted or refused on its own

     Items name the device by `deviceId` or `deviceExternalRef`. `timestamp` is ISO 8601 with a UTC
    offset, or epoch seconds; numbers of 100,000,000,000 and more are read as epoch milliseconds.
    Readings are kept per second and are unique per (device, OBIS code, timestamp): a repeat counts as a
    duplicate. Refused per item: NaN or infinite values, unknown or deleted devices, devices that are
    not meters, OBIS codes whose medium is not the meter's, codes Zählerfreunde does not take (for its
    customers) and timestamps more than GATEWAY_READINGS_FUTURE_TOLERANCE_S in the future. Readings of
    meters whose customer is enrolled at Zählerfreunde are delivered there; readings of other customers
    are stored only (delivery status `not_sent`). The body limit is GATEWAY_READINGS_MAX_BODY_BYTES. The
    handler reads the body itself (streamed, items checked one by one), so the body schema is documented
    rather than decoded up front.

    Args:
        idempotency_key (str | Unset):
        body (ReadingsBody): ``POST /v1/readings`` as documented: items are checked one by one, so
            not constrained here.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[IngestResult | Problem]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: ReadingsBody,
    idempotency_key: str | Unset = UNSET,

) -> IngestResult | Problem | None:
    """ Store up to 10,000 meter readings; each item is accepted or refused on its own

     Items name the device by `deviceId` or `deviceExternalRef`. `timestamp` is ISO 8601 with a UTC
    offset, or epoch seconds; numbers of 100,000,000,000 and more are read as epoch milliseconds.
    Readings are kept per second and are unique per (device, OBIS code, timestamp): a repeat counts as a
    duplicate. Refused per item: NaN or infinite values, unknown or deleted devices, devices that are
    not meters, OBIS codes whose medium is not the meter's, codes Zählerfreunde does not take (for its
    customers) and timestamps more than GATEWAY_READINGS_FUTURE_TOLERANCE_S in the future. Readings of
    meters whose customer is enrolled at Zählerfreunde are delivered there; readings of other customers
    are stored only (delivery status `not_sent`). The body limit is GATEWAY_READINGS_MAX_BODY_BYTES. The
    handler reads the body itself (streamed, items checked one by one), so the body schema is documented
    rather than decoded up front.

    Args:
        idempotency_key (str | Unset):
        body (ReadingsBody): ``POST /v1/readings`` as documented: items are checked one by one, so
            not constrained here.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        IngestResult | Problem
     """


    return (await asyncio_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    )).parsed
