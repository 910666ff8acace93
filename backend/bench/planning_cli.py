"""The `planning` subcommand of scripts/bench: its flags, and what it runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backend.bench.planning import DEFAULT_DATA, DEFAULT_INSTANCES, run_planning


def add_planning_parser(commands: argparse._SubParsersAction) -> None:
    planning = commands.add_parser(
        "planning",
        help="the planner against plain PyVRP on VRPTW instances, and re-planning after a "
        "breakdown",
        description="Solves each instance with plain PyVRP and with the planner's own path, "
        "interleaved, and prints gaps to the best known solutions; then times a recovery "
        "re-plan end to end against the API. See docs/benchmarks.md.",
    )
    add = planning.add_argument
    add("--data-dir", type=Path, default=DEFAULT_DATA, help="folder of .vrp and .sol files")
    add(
        "--instances",
        default=",".join(DEFAULT_INSTANCES),
        help="comma-separated instance names, or 'all' (default: one per class)",
    )
    add("--time-limit", type=float, default=60.0, help="seconds per instance and solver")
    add("--seed", type=int, default=1)
    add(
        "--only",
        choices=("vrptw", "recovery", "both"),
        default="both",
        help="run only the VRPTW comparison or only the recovery re-plan",
    )
    add("--database-url", default=None, help="recovery bench database (name contains 'bench')")
    add("--output", help="also write the tables to this file")


def _instances(args: argparse.Namespace) -> list[str]:
    if args.instances == "all":
        return sorted(p.stem for p in Path(args.data_dir).glob("*.vrp"))
    return [name.strip() for name in args.instances.split(",") if name.strip()]


def run_planning_command(args: argparse.Namespace, database_url: str) -> int:
    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    tables = []
    if args.only in ("vrptw", "both"):
        tables.append(
            run_planning(Path(args.data_dir), _instances(args), args.time_limit, args.seed, say)
        )
    if args.only in ("recovery", "both"):
        from backend.bench.recovery import run_recovery

        tables.append(run_recovery(database_url, say))
    text = "\n\n".join(tables)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0
