"""Volue Energy Coordination API endpoints, one method each, over ``ProviderHttp``.

Methods return False (or None) where the spec declares a 404 or 409 the adapter
has a use for, instead of raising; every other failure raises the classified
``ProviderError``.
"""

from __future__ import annotations

from providers.http import ProviderHttp, decode
from providers.volue.schemas import (
    GetLocationResponse,
    GetResourceResponse,
    GetUserResourcesResponse,
    GetUsersResponse,
    PostLocationBoundResourceRequest,
    PostLocationRequest,
    PostLocationsBatchRequest,
    PostUserRequest,
    PostUsersBatchRequest,
    PostVehicleResourceRequest,
    PutLocationRequest,
)

_NOT_FOUND = (404,)
_CONFLICT = (409,)

USER = "/users/{userId}"
LOCATIONS = "/users/{userId}/locations"
LOCATION = "/users/{userId}/locations/{locationId}"
LOCATION_RESOURCES = "/users/{userId}/locations/{locationId}/resources"
VEHICLES = "/users/{userId}/vehicles"
RESOURCE = "/resources/{resourceId}"
USER_RESOURCES = "/users/{userId}/resources"
LOCATION_LIST = list[GetLocationResponse]
USERS_PAGE_SIZE = 1000
"""The largest ``pageSize`` Volue's listings take."""


class VolueClient:
    """Typed calls to the Partner Endpoints (base URL ending in ``/energy-coordination/v1``)."""

    def __init__(self, *, http: ProviderHttp) -> None:
        self.http = http

    # --- users ----------------------------------------------------------------------------

    async def user_exists(self, user_id: str) -> bool:
        """``GET /users/{userId}``: whether the user is registered."""
        response = await self.http.send("GET", USER, path={"userId": user_id}, tolerate=_NOT_FOUND)
        return response.status_code != 404

    async def users_page(self, page: int, *, page_size: int = USERS_PAGE_SIZE) -> GetUsersResponse:
        """One page (1-based) of ``GET /users``: the users registered by this partner."""
        response = await self.http.send("GET", "/users", params={"page": page, "pageSize": page_size})
        return decode(response, GetUsersResponse, route="/users")

    async def create_user(self, body: PostUserRequest) -> bool:
        """``POST /users`` (200 and 201 both mean done); False on 409 (the id is taken)."""
        response = await self.http.send("POST", "/users", body=body, tolerate=_CONFLICT)
        return response.status_code != 409

    async def create_users(self, body: PostUsersBatchRequest) -> None:
        """``POST /users/batch``."""
        await self.http.send("POST", "/users/batch", body=body)

    async def delete_user(self, user_id: str) -> bool:
        """``DELETE /users/{userId}`` with everything under it; False when already gone."""
        response = await self.http.send("DELETE", USER, path={"userId": user_id}, tolerate=_NOT_FOUND)
        return response.status_code != 404

    # --- locations ------------------------------------------------------------------------

    async def get_location(self, user_id: str, location_id: str) -> GetLocationResponse | None:
        """``GET /users/{userId}/locations/{locationId}``; None when not found."""
        response = await self.http.send(
            "GET",
            LOCATION,
            path={"userId": user_id, "locationId": location_id},
            tolerate=_NOT_FOUND,
        )
        if response.status_code == 404:
            return None
        return decode(response, GetLocationResponse, route=LOCATION)

    async def list_locations(self, user_id: str) -> list[GetLocationResponse]:
        """``GET /users/{userId}/locations``: every location of a user."""
        response = await self.http.send("GET", LOCATIONS, path={"userId": user_id})
        return decode(response, LOCATION_LIST, route=LOCATIONS)

    async def create_location(self, user_id: str, body: PostLocationRequest) -> bool:
        """``POST /users/{userId}/locations``; False on 409 (the id exists otherwise)."""
        response = await self.http.send(
            "POST", LOCATIONS, path={"userId": user_id}, body=body, tolerate=_CONFLICT
        )
        return response.status_code != 409

    async def replace_location(self, user_id: str, location_id: str, body: PutLocationRequest) -> bool:
        """``PUT /users/{userId}/locations/{locationId}``; False on 404."""
        response = await self.http.send(
            "PUT",
            LOCATION,
            path={"userId": user_id, "locationId": location_id},
            body=body,
            tolerate=_NOT_FOUND,
        )
        return response.status_code != 404

    async def create_locations(self, body: PostLocationsBatchRequest) -> None:
        """``POST /users/locations/batch``."""
        await self.http.send("POST", "/users/locations/batch", body=body)

    async def delete_location(self, user_id: str, location_id: str) -> bool:
        """``DELETE /users/{userId}/locations/{locationId}``; False when already gone."""
        response = await self.http.send(
            "DELETE",
            LOCATION,
            path={"userId": user_id, "locationId": location_id},
            tolerate=_NOT_FOUND,
        )
        return response.status_code != 404

    # --- resources ------------------------------------------------------------------------

    async def create_location_resource(
        self, user_id: str, location_id: str, body: PostLocationBoundResourceRequest
    ) -> bool:
        """``POST /users/{userId}/locations/{locationId}/resources``; False on 409."""
        response = await self.http.send(
            "POST",
            LOCATION_RESOURCES,
            path={"userId": user_id, "locationId": location_id},
            body=body,
            tolerate=_CONFLICT,
        )
        return response.status_code != 409

    async def create_vehicle(self, user_id: str, body: PostVehicleResourceRequest) -> bool:
        """``POST /users/{userId}/vehicles``; False on 409."""
        response = await self.http.send(
            "POST", VEHICLES, path={"userId": user_id}, body=body, tolerate=_CONFLICT
        )
        return response.status_code != 409

    async def get_resource(self, resource_id: str) -> GetResourceResponse | None:
        """``GET /resources/{resourceId}``; None when not found."""
        response = await self.http.send(
            "GET", RESOURCE, path={"resourceId": resource_id}, tolerate=_NOT_FOUND
        )
        if response.status_code == 404:
            return None
        return decode(response, GetResourceResponse, route=RESOURCE)

    async def list_user_resources(self, user_id: str) -> list[GetResourceResponse] | None:
        """``GET /users/{userId}/resources``: a user's resources, vehicles included; None when
        the user is not found."""
        response = await self.http.send(
            "GET", USER_RESOURCES, path={"userId": user_id}, tolerate=_NOT_FOUND
        )
        if response.status_code == 404:
            return None
        return decode(response, GetUserResourcesResponse, route=USER_RESOURCES).resources

    async def delete_resource(self, resource_id: str) -> bool:
        """``DELETE /resources/{resourceId}``; False when already gone."""
        response = await self.http.send(
            "DELETE", RESOURCE, path={"resourceId": resource_id}, tolerate=_NOT_FOUND
        )
        return response.status_code != 404

    async def aclose(self) -> None:
        await self.http.aclose()
