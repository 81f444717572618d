"""The shared test helpers themselves: waiting and request bodies."""

from __future__ import annotations

import pytest

from tests.support import customer_body, eventually, meter_body, numbered_tree, site_body


async def test_eventually_returns_the_first_truthy_value_of_a_plain_or_async_check() -> None:
    """The check runs until it answers something truthy, which is returned; async checks are awaited."""
    answers = iter([None, 0, "found"])
    assert await eventually(lambda: next(answers), interval=0) == "found"

    calls = []

    async def check() -> list[int] | None:
        calls.append(1)
        return calls if len(calls) == 3 else None

    assert await eventually(check, interval=0) == [1, 1, 1]


async def test_eventually_fails_naming_what_and_the_last_value() -> None:
    """A check that never holds fails after the timeout with what was awaited and the last answer."""
    with pytest.raises(AssertionError, match=r"the widget: not met within 0.05 s \(last: \[\]\)"):
        await eventually(lambda: [], what="the widget", timeout=0.05, interval=0.01)


def test_bodies_are_fresh_on_every_call() -> None:
    """Changing one body in place leaves the next one as it was."""
    first = customer_body("c-1", site_body("s-1", meter_body("m-1")))
    first["sites"][0]["address"]["city"] = "Bergen"
    first["sites"][0]["devices"][0]["name"] = "changed"
    second = customer_body("c-1", site_body("s-1", meter_body("m-1")))
    assert second["sites"][0]["address"]["city"] == "Oslo"
    assert second["sites"][0]["devices"][0]["name"] == "Main meter"
    assert customer_body("c-2", name="Grace Hopper")["name"] == "Grace Hopper"


def test_numbered_trees_differ_in_every_ref_name_and_address() -> None:
    """Two numbered copies of a tree share no externalRef, site name or address; the tree is untouched."""
    tree = customer_body("c-1", site_body("s-1", meter_body("m-1")), vehicles=[{"externalRef": "v-1"}])
    first, second = numbered_tree(tree, "run", 0), numbered_tree(tree, "run", 1)
    assert first["externalRef"] == "run-c-0" and second["externalRef"] == "run-c-1"
    assert first["sites"][0]["devices"][0]["externalRef"] == "run-m-0"
    assert first["vehicles"][0]["externalRef"] == "run-v-0"
    assert first["sites"][0]["name"] != second["sites"][0]["name"]
    assert first["sites"][0]["address"]["line1"] != second["sites"][0]["address"]["line1"]
    assert tree["externalRef"] == "c-1" and tree["sites"][0]["address"]["line1"] == "Storgata 1"
