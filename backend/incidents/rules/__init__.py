"""Detection rules: each a set-based statement finding every subject at fault (late shipments,
silent drivers, long dwells, repeated failures, routes not started, failing webhook endpoints,
unanswered offers), per-hub thresholds as data, and the escalation of urgent incidents nobody
acknowledged. docs/incidents-detection.md describes each rule."""
