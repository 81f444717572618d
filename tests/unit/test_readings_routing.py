"""Readings go to the provider whose capabilities take them, with the codes it says it takes."""

from __future__ import annotations

import pytest

from gateway.core.domain import Provider
from gateway.readings import batches
from gateway.readings.batches import ACCEPTED_CODES, DELIVERY_PROVIDER
from gateway.readings.ingest import DeviceInfo, device_problem
from providers.base import Capabilities
from providers.registry import CAPABILITIES
from providers.zaehlerfreunde.obis import ZAEHLERFREUNDE_ACCEPTED


def test_the_delivery_provider_is_the_one_that_takes_readings() -> None:
    """The provider readings are batched for is found by its capabilities, with its codes."""
    takers = [provider for provider, taken in CAPABILITIES.items() if taken.readings]
    assert takers == [DELIVERY_PROVIDER] == [Provider.ZAEHLERFREUNDE]
    assert ACCEPTED_CODES == ZAEHLERFREUNDE_ACCEPTED


def test_two_providers_taking_readings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches serve one provider: a second one that takes readings is an error, not a guess."""
    both = {provider: Capabilities(readings=True) for provider in Provider}
    monkeypatch.setattr(batches, "CAPABILITIES", both)
    with pytest.raises(RuntimeError, match="2 take them"):
        batches._delivery_provider()


def test_a_code_the_provider_does_not_take_is_refused_by_its_name() -> None:
    """A customer at the readings provider cannot send a code outside its reading_codes."""
    meter = DeviceInfo("d", "m-1", "meter", "electricity", "c", [DELIVERY_PROVIDER.value])
    assert device_problem(meter, "electricity", "1-1:1.8.0") is None
    assert device_problem(meter, "electricity", "1-1:15.8.0") == (
        "obisCode", "Zählerfreunde does not accept the OBIS code 1-1:15.8.0")
