"""Every incident kind the service opens, or detection will, has a playbook of its own whose
one-click steps name actions that exist."""

import pytest

from backend.incidents.actions import PlaybookRunner
from backend.incidents.playbooks import ACTIONS, DEFAULT_PLAYBOOK, PLAYBOOKS, playbook_of

KINDS = (
    "custody_conflict",
    "outside_geofence",
    "incomplete_pod",
    "wrong_pin",
    "stale_gps",
    "kpi_off_target",
    "offer_expired",
    "webhook_endpoint_disabled",
    "late_risk",
    "driver_silent",
    "long_dwell",
    "repeated_failure",
    "route_not_started",
    "webhook_endpoint_failing",
    "offer_unanswered",
)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_has_ordered_steps_of_its_own(kind: str) -> None:
    steps = playbook_of(kind)
    assert steps is not DEFAULT_PLAYBOOK and len(steps) >= 2
    assert all(step.title for step in steps)
    assert {step.action for step in steps} - {None} <= set(ACTIONS)


def test_every_action_has_a_runner_and_is_used() -> None:
    runner = PlaybookRunner(session=None)  # type: ignore[arg-type]
    assert set(runner._actions) == set(ACTIONS)
    used = {step.action for steps in PLAYBOOKS.values() for step in steps}
    assert set(ACTIONS) <= used


def test_a_kind_without_a_playbook_gets_the_generic_steps() -> None:
    assert playbook_of("something_new") == DEFAULT_PLAYBOOK
