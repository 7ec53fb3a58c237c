"""The benchmark command runs end to end on small sizes and prints a row for every figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.bench_concurrency import ideal_time
from benchmarks.harness import FIGURES, Row
from benchmarks.run import BEGIN, END, PREVIOUS_BEGIN, PREVIOUS_END, write_docs

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmark_run_prints_every_figure_measured() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    model = next(line for line in lines if line.startswith("transfer model: "))
    assert "latency 2 ms" in model and "10 MB/s" in model, model
    header = next(i for i, line in enumerate(lines) if line.startswith("figure "))
    table = "\n".join(lines[header:])
    for figure in FIGURES:
        assert figure in table, f"no row for {figure!r}"
    assert "not measured" not in table, done.stdout[-3000:]


def test_write_docs_keeps_the_previous_run_for_comparison(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\nintro\n\n{BEGIN}\n{END}\n\n## Notes\n\nkept\n")

    write_docs(page, {"date (UTC)": "first"}, "| table one |", ["log one"])
    text = page.read_text()
    assert "table one" in text and PREVIOUS_BEGIN not in text  # nothing recorded before

    write_docs(page, {"date (UTC)": "second"}, "| table two |", ["log two"])
    write_docs(page, {"date (UTC)": "third"}, "| table three |", ["log three"])
    text = page.read_text()
    current = text.split(BEGIN, 1)[1].split(END, 1)[0]
    previous = text.split(PREVIOUS_BEGIN, 1)[1].split(PREVIOUS_END, 1)[0]
    assert "table three" in current and "date (UTC): third" in current
    assert "table two" in previous and "log two" in previous
    assert "table one" not in text  # only the last run before is kept
    assert text.count("## Previous run") == 1
    assert text.startswith("# Benchmarks\n\nintro\n") and text.rstrip().endswith("kept")


def test_ideal_is_the_best_schedule_of_the_calls_costs() -> None:
    assert ideal_time([0.1] * 47, 8) == pytest.approx(6 * 0.1)  # ceil(47 / 8) × latency
    # one big answer bounds the time however many connections there are
    assert ideal_time([1.0, 0.1, 0.1, 0.1], 8) == pytest.approx(1.0)
    assert ideal_time([0.5, 0.4, 0.3, 0.3], 2) == pytest.approx(0.8)  # {0.5, 0.3} {0.4, 0.3}
    assert ideal_time([], 4) == 0.0


def test_a_row_is_met_only_when_every_target_holds() -> None:
    both = {"target_ratio": 1.5, "target_value": 300}
    assert Row("f", "ms", ours=200, base=150, **both).met is True
    assert Row("f", "ms", ours=250, base=150, **both).met is False  # 1.67 × the floor
    assert Row("f", "ms", ours=320, base=300, **both).met is False  # over 300 ms
    assert Row("f", "s", ours=0.01, base=1, target_ratio=0.1, condition=False).met is False
    assert Row("f", "s", ours=0.01, base=1, target_ratio=0.1, condition=True).met is True
    assert Row("f", "s", ours=0.01, base=1).met is None  # information only
    assert Row("f", "s", base=1, target_ratio=0.1).met is None  # not measured


def test_the_transfer_model_reaches_every_request_of_the_stand_in() -> None:
    from benchmarks import sides
    from vitec_nb.standin import StandIn

    with StandIn(seed=1, contacts=50, offices=1) as s:
        assert sides.set_transfer(s, 0.002, 10e6) is True  # this stand-in paces bodies
        assert (s.faults.latency, s.faults.throughput, s.faults.lookups) == (0.002, 10e6, True)
        assert sides.set_transfer(s, 0.003, 0) is False  # 0: bodies cost nothing
        assert (s.faults.latency, s.faults.throughput) == (0.003, None)
    assert sides.transfer_cost(5_000_000, 0.1, 10e6, paced=True) == pytest.approx(0.6)
    assert sides.transfer_cost(5_000_000, 0.1, 10e6, paced=False) == pytest.approx(0.1)


@pytest.mark.slow
def test_quick_ablation_run_prints_a_row_for_every_optimisation() -> None:
    from benchmarks.ablation_switches import SWITCHES

    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "A"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout.split("benchmark A, the ablation", 1)[1]
    rows = [line for line in table.splitlines() if " | " in line][1:]
    for switch in SWITCHES:
        row = next((r for r in rows if r.startswith(switch.name + " ")), None)
        assert row is not None, f"no row for {switch.name!r}"
        assert "not measured" not in row and "CHANGES THE RESULT" not in row, row
        assert "kept" in row or "candidate" in row or "not present in this code" in row, row
    assert len(rows) == len(SWITCHES)


def test_ablation_verdict_follows_the_runs_of_the_same_run() -> None:
    from benchmarks.ablation_switches import SWITCHES
    from benchmarks.bench_ablation import Result

    sw = SWITCHES[0]
    kept = Result(sw, "2a", on=[0.010, 0.011, 0.012], off=[0.020, 0.021, 0.019])
    assert kept.visible
    assert kept.kept_because() == (
        "kept: saves 10.0 ms (off = 1.91 × on); off slower in 3 of 3 repetitions"
    )
    # pairs, not pools: a slow moment that hits both runs of a repetition cancels out
    drift = Result(sw, "2a", on=[0.010, 0.030, 0.011], off=[0.012, 0.032, 0.013])
    assert drift.visible and drift.saving == pytest.approx(0.002)
    overlap = Result(sw, "2a", on=[0.010, 0.013, 0.012], off=[0.011, 0.012, 0.012])
    assert not overlap.visible and "candidate for removal" in overlap.kept_because()
    assert "off slower in 1 of 3 repetitions" in overlap.kept_because()
    faster = Result(sw, "2a", on=[0.010, 0.011], off=[0.008, 0.009])
    assert faster.kept_because().startswith("off faster")
    gone = Result(sw, "2a", absent="vitec_nb.plan.execution.JOIN_MEMO")
    assert gone.kept_because().startswith("(not present in this code)")
    changed = Result(sw, "2a", on=[0.01], off=[0.02], same_result=False)
    assert "CHANGES THE RESULT" in changed.kept_because()


def test_a_switch_is_undone_after_its_block_and_absent_code_is_named() -> None:
    from benchmarks import ablation_switches as ab
    from vitec_nb import parse_columns

    original = parse_columns._may_repeat
    with ab.switched_off(ab.switch("repeat-hash", "json")):
        assert parse_columns._may_repeat is not original
        assert parse_columns._may_repeat(None) is True  # the exact check always runs
    assert parse_columns._may_repeat is original

    missing = ab.Switch(
        "gone", "gone", "nowhere", "json", lambda st, c: ab.attribute(parse_columns, "_gone"), ""
    )
    with pytest.raises(ab.Absent, match=r"parse_columns\._gone"), ab.switched_off(missing):
        pass


def test_write_ablation_fills_its_block_and_leaves_the_results_alone(tmp_path: Path) -> None:
    from benchmarks.run import ABLATION_BEGIN, ABLATION_END, write_ablation

    page = tmp_path / "benchmarks.md"
    page.write_text(
        f"# B\n\n{BEGIN}\nresults\n{END}\n\n## Kept\n\n{ABLATION_BEGIN}\n{ABLATION_END}\n"
    )
    write_ablation(page, {"date (UTC)": "first"}, "| ablation one |")
    write_ablation(page, {"date (UTC)": "second"}, "| ablation two |")
    text = page.read_text()
    block = text.split(ABLATION_BEGIN, 1)[1].split(ABLATION_END, 1)[0]
    assert "ablation two" in block and "date (UTC): second" in block
    assert "ablation one" not in text
    assert f"{BEGIN}\nresults\n{END}" in text


def test_only_names_known_benchmarks() -> None:
    from benchmarks.run import main

    with pytest.raises(SystemExit, match=r"--only: 'Z'.*allowed: any of 123456789A"):
        main(["--only", "Z"])
