"""bench/goals.py's verdicts: a goal is met only under every ceiling and without an error."""

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.append(str(BENCH))  # last, as a bench script has it: its `scratchdb`, never its http.py for the stdlib's
_spec = importlib.util.spec_from_file_location("bench_goals", BENCH / "goals.py")
goals = importlib.util.module_from_spec(_spec)
sys.modules["bench_goals"] = goals  # its dataclass looks its module up there
_spec.loader.exec_module(goals)


def _step(p95, p99, errors=0):
    return {"p95_ms": p95, "p99_ms": p99, "errors": errors}


def test_the_goals_are_the_issues():
    assert [(g.scenario, g.rate, g.limits) for g in goals.GOALS] == [
        ("transfers", 400, {"p95_ms": 50, "p99_ms": 150}),
        ("transfers-one-wallet", 300, {"p99_ms": 150}),
        ("mcp-create-payment", 200, {"p95_ms": 75}),
    ]


def test_a_goal_is_met_at_its_ceilings_and_missed_above_them():
    transfers = goals.GOALS[0]
    assert transfers.judge(_step(50.0, 150.0)) == []
    assert transfers.judge(_step(50.1, 150.0)) == ["p95 50.1 > 50 ms"]
    assert transfers.judge(_step(49.0, 150.2, errors=3)) == ["p99 150.2 > 150 ms", "3 errors"]
    assert transfers.judge(_step(None, None)) == ["no p95", "no p99"]
    # One wallet's goal has no p95 ceiling.
    assert goals.GOALS[1].judge(_step(900.0, 149.9)) == []
    assert goals.GOALS[2].describe() == "p95 <= 75 ms"


def test_a_cell_of_milliseconds_says_when_nothing_was_measured():
    assert (goals.ms_cell(49.96), goals.ms_cell(None), goals.ms_cell(1234.5, 8)) == ("   50.0", "      -", "  1234.5")
