"""The chaos figures: what a phase's requests are counted as and the minimum its work needs."""

from __future__ import annotations

from collections import Counter

from tests.chaos.figures import Figures, is_neighbour_route, minimum_requests, requests_between


def test_minimum_counts_one_write_per_object_and_full_batches() -> None:
    """Zählerfreunde needs a request per space, device and invite and one per 1,000 readings;
    Volue one per resource and report and one per 500 users or locations."""
    work = Counter({"created customers": 501, "created sites": 501, "created meters": 501,
                    "created chargers": 10, "created tanks": 5, "created vehicles": 501,
                    "readings": 2001, "invites": 3, "reports": 4})
    assert minimum_requests(work) == {"zaehlerfreunde": 501 + 501 + 10 + 3 + 3,
                                      "volue": 2 + 2 + 10 + 5 + 501 + 4}


def test_requests_between_snapshots_split_writes_lookups_tokens_and_neighbour() -> None:
    """Only requests answered between the snapshots count, each under its kind; what the neighbour
    did not send on its routes is the gateway's (a read-back) and counts as a lookup."""
    before = {"requests": {"POST /partner/spaces": {"200": 4}}}
    after = {"requests": {
        "POST /partner/spaces": {"200": 6, "429": 3},
        "GET /partner/spaces": {"200": 2},
        "POST /partner/auth/token": {"200": 1},
        "GET /partner/devices/{deviceId}/readings": {"404": 7},
    }}
    requests = requests_between(before, after)
    assert requests["POST /partner/spaces"] == Counter({200: 2, 429: 3})
    found = Figures("phase", Counter({"created sites": 2}), {"zaehlerfreunde": requests}, synced_s=1.0)
    assert [found.of("zaehlerfreunde", kind=k) for k in ("writes", "lookups", "tokens", "neighbour")] \
        == [5, 9, 1, 0]
    assert found.ratio("zaehlerfreunde") == 2.5
    shared = Figures("phase", Counter(), {"zaehlerfreunde": requests}, synced_s=1.0,
                     neighbour_sent={"zaehlerfreunde": 5})
    assert [shared.of("zaehlerfreunde", kind=k) for k in ("lookups", "neighbour")] == [4, 5]


def test_neighbour_routes_are_only_those_the_gateway_does_not_call() -> None:
    """The neighbour's eligibility and stored-readings reads are told apart from the gateway's routes."""
    assert is_neighbour_route("GET /energy-coordination/v1/meters/{mpid}/eligible")
    assert is_neighbour_route("GET /energy-coordination/v1/users/{user_id}/eligibility")
    assert is_neighbour_route("GET /partner/devices/{deviceId}/readings")
    assert not is_neighbour_route("POST /partner/devices/readings")
    assert not is_neighbour_route("GET /partner/spaces/{spaceId}/devices")
    assert not is_neighbour_route("GET /energy-coordination/v1/users/{user_id}")
