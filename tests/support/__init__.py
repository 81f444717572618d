"""What the tests share: request bodies (:mod:`tests.support.factories`) and one way of waiting
for something to happen (:func:`tests.support.waiting.eventually`)."""

from tests.support.factories import (
    ADDRESS,
    COORDINATES,
    METER_POINT,
    customer_body,
    meter_body,
    numbered_tree,
    site_body,
)
from tests.support.waiting import eventually

__all__ = [
    "ADDRESS",
    "COORDINATES",
    "METER_POINT",
    "customer_body",
    "eventually",
    "meter_body",
    "numbered_tree",
    "site_body",
]
