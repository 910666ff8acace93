"""Every detection rule, in the order a round evaluates them."""

from backend.incidents.rules import (
    driver_silent,
    late_risk,
    long_dwell,
    offer_unanswered,
    repeated_failure,
    route_not_started,
    webhook_endpoint_failing,
)
from backend.incidents.rules.rule import Rule

RULES: tuple[Rule, ...] = (
    late_risk.RULE,
    driver_silent.RULE,
    long_dwell.RULE,
    repeated_failure.RULE,
    route_not_started.RULE,
    webhook_endpoint_failing.RULE,
    offer_unanswered.RULE,
)
BY_KIND: dict[str, Rule] = {rule.kind: rule for rule in RULES}
