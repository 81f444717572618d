"""Which providers exist and what each takes, without importing any HTTP code."""

from gateway.core.domain import Provider
from providers import volue, zaehlerfreunde
from providers.base import Capabilities

CAPABILITIES: dict[Provider, Capabilities] = {
    Provider.VOLUE: volue.CAPABILITIES,
    Provider.ZAEHLERFREUNDE: zaehlerfreunde.CAPABILITIES,
}
