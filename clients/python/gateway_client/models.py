"""The request and answer models, generated from the gateway's OpenAPI document."""

from ._generated.models import *  # noqa: F403
from ._generated.models import __all__ as __all__
