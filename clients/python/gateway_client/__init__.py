"""A typed client for the energy integration gateway's REST API.

``GatewayClient`` / ``AsyncGatewayClient`` are the hand-written layer (idempotency keys,
retries, paging, problems as exceptions); the models in :mod:`gateway_client.models` and the
raw operations in ``gateway_client._generated`` are generated from the served OpenAPI document.
"""

from . import models
from .client import AsyncGatewayClient, GatewayClient
from .errors import Conflict, GatewayProblem, NotFound, RateLimited, Validation

__all__ = [
    "AsyncGatewayClient",
    "Conflict",
    "GatewayClient",
    "GatewayProblem",
    "NotFound",
    "RateLimited",
    "Validation",
    "models",
]
