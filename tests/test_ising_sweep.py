"""β sweeps: the grid, the CSV and its resumption, the same numbers on a Dask cluster as in this process, and the
``rbm-explorer sweep ising`` command."""

import csv
import math
import re

import numpy as np
import pytest

from rbm_explorer.cli.main import main
from rbm_explorer.ising import exact
from rbm_explorer.ising import sweep as sweep_module
from rbm_explorer.ising.sweep import COLUMNS, SweepPlan, parse_betas, read_rows, run_sweep, tasks_of


def small_plan(**changes):
    options = dict(sizes=(8, 6), betas=(0.5, 0.3), algorithm="hybrid", replicas=6, sweeps=300, thermalization=50,
                   seed=4, replicas_per_task=4)
    options.update(changes)
    return SweepPlan(**options)


def test_beta_ranges_include_both_ends_and_lists_are_sorted():
    assert parse_betas("0.3:0.6:7") == pytest.approx([0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6])
    assert parse_betas(["0.5", "0.2", "0.5"]) == [0.2, 0.5]
    assert parse_betas(["0.1:0.2:2", "0.15"]) == pytest.approx([0.1, 0.15, 0.2])
    for bad, words in (("0.3:0.6", "a:b:n"), ("x", "not a beta"), ("-0.1", "positive"), ("0.1:0.2:1", "n >= 2"),
                       ("0.1:0.2:z", "whole number")):
        with pytest.raises(ValueError, match=words):
            parse_betas(bad)


def test_a_plan_splits_points_into_replica_blocks_and_rejects_what_cannot_run():
    plan = small_plan()
    assert plan.sizes == (6, 8) and plan.betas == (0.3, 0.5)
    assert plan.blocks() == [4, 2]
    assert len(tasks_of(plan)) == 2 * 2 * 2
    assert len(tasks_of(plan, {plan.key(6, 0.3)})) == 6
    with pytest.raises(ValueError, match="h = 0"):
        small_plan(field=0.1)
    with pytest.raises(ValueError, match="even L"):
        small_plan(sizes=(5,), coupling=-1.0)
    with pytest.raises(ValueError, match="multiples of 64"):
        small_plan(algorithm="multispin", replicas=100)
    with pytest.raises(ValueError, match="unknown Ising algorithm"):
        small_plan(algorithm="glauber")


def test_rows_are_sorted_complete_and_carry_the_exact_values(tmp_path):
    out = tmp_path / "sweep.csv"
    result = run_sweep(small_plan(), out, scheduler="inprocess", progress=False)
    rows = read_rows(out)
    with open(out) as handle:
        assert next(csv.reader(handle)) == list(COLUMNS)
    assert [(int(r["L"]), float(r["beta"])) for r in rows] == [(6, 0.3), (6, 0.5), (8, 0.3), (8, 0.5)]
    for row in rows:
        L, beta = int(row["L"]), float(row["beta"])
        assert float(row["energy_exact"]) == pytest.approx(exact.torus_energy(L, beta), rel=1e-12)
        assert float(row["heat_capacity_exact"]) == pytest.approx(exact.torus_heat_capacity(L, beta), rel=1e-12)
        for q in sweep_module.QUANTITIES:
            if q != "correlation_length":  # nan where the second-moment estimate is undefined
                assert math.isfinite(float(row[q])) and float(row[f"{q}_err"]) >= 0, q
        assert float(row["tau_int_energy"]) >= 0.5 and float(row["tau_int_abs_magnetization"]) >= 0.5
        assert row["algorithm"] == "hybrid" and row["replicas"] == "6" and row["sweeps"] == "300"
    assert result.computed == 4 and result.skipped == 0


def test_a_field_leaves_the_exact_columns_empty(tmp_path):
    out = tmp_path / "field.csv"
    run_sweep(small_plan(sizes=(4,), betas=(0.4,), algorithm="metropolis", field=0.2), out, scheduler="inprocess",
              progress=False)
    (row,) = read_rows(out)
    assert row["energy_exact"] == "" and row["heat_capacity_exact"] == ""
    assert float(row["h"]) == 0.2


def test_an_interrupted_sweep_keeps_its_rows_and_resume_finishes_it(tmp_path, monkeypatch):
    out = tmp_path / "sweep.csv"
    plan = small_plan()
    reference = run_sweep(plan, tmp_path / "whole.csv", scheduler="inprocess", progress=False).rows
    real_write = sweep_module.write_rows

    def write_then_stop(path, rows):
        real_write(path, rows)
        if len(rows) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(sweep_module, "write_rows", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(plan, out, scheduler="inprocess", progress=False)
    monkeypatch.setattr(sweep_module, "write_rows", real_write)
    assert len(read_rows(out)) == 2
    with pytest.raises(FileExistsError, match="resume"):
        run_sweep(plan, out, scheduler="inprocess", progress=False)
    result = run_sweep(plan, out, scheduler="inprocess", progress=False, resume=True)
    assert result.skipped == 2 and result.computed == 2
    rows = read_rows(out)
    expected = read_rows(tmp_path / "whole.csv")
    assert len(rows) == len(reference) == 4
    for got, want in zip(rows, expected):
        for column in ("L", "beta", "energy", "heat_capacity", "abs_magnetization", "binder"):
            assert got[column] == want[column], column


def test_a_sweep_on_a_two_worker_local_cluster_gives_the_in_process_numbers(tmp_path):
    plan = small_plan(sizes=(8,), betas=(0.35, 0.45), replicas=4, replicas_per_task=2)
    here = run_sweep(plan, tmp_path / "here.csv", scheduler="inprocess", progress=False)
    there = run_sweep(plan, tmp_path / "there.csv", workers=2, progress=False)
    assert there.scheduler.startswith("LocalCluster, 2 worker processes")
    for a, b in zip(here.rows, there.rows):
        for q in sweep_module.QUANTITIES + ("tau_int_energy",):
            x, y = float(a[q]), float(b[q])
            assert (math.isnan(x) and math.isnan(y)) or x == y, (q, x, y)


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    plan = small_plan(sizes=(4,), betas=(0.3,))
    with pytest.raises(OSError, match="cannot reach the Dask scheduler"):
        run_sweep(plan, tmp_path / "x.csv", scheduler="tcp://127.0.0.1:9", progress=False, connect_timeout=2)


def test_the_cli_writes_the_csv_and_its_plot(tmp_path, capsys):
    out = tmp_path / "ising.csv"
    argv = ["sweep", "ising", "--size", "6", "--beta", "0.3:0.5:3", "--sweeps", "200", "--replicas", "4",
            "--inprocess", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "3 rows computed" in err and str(out.with_suffix(".png")) in err
    assert len(read_rows(out)) == 3
    from PIL import Image

    with Image.open(out.with_suffix(".png")) as picture:
        assert picture.size[0] > 600
    # again, with --resume and one more β: only the new row is computed; --html writes the offline page
    more = [a if a != "0.3:0.5:3" else "0.3:0.5:3 0.6" for a in argv]
    more = " ".join(more).split(" ") + ["--resume", "--html"]
    assert main(more) == 0
    err = capsys.readouterr().err
    assert "1 rows computed, 3 kept from before" in err
    html = out.with_suffix(".html").read_text()
    assert "Bokeh" in html
    # no tag loads anything from another host (the inline BokehJS holds a MathJax address it uses only for TeX)
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?https?:", html)


@pytest.mark.parametrize("extra,message", [
    (["--field", "0.1"], "h = 0"),
    (["--coupling", "-1", "--size", "5"], "even L"),
    (["--beta", "0.3:0.6"], "a:b:n"),
    (["--algorithm", "multispin", "--replicas", "10"], "multiples of 64"),
])
def test_cli_mistakes_are_one_line_errors(tmp_path, capsys, extra, message):
    argv = ["sweep", "ising", "--size", "6", "--beta", "0.4", "--sweeps", "100", "--inprocess", "--quiet",
            "--out", str(tmp_path / "x.csv")] + extra
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("rbm-explorer: error:") and message in err


def test_cli_refuses_to_overwrite_a_sweep_and_names_bad_output(tmp_path, capsys):
    out = tmp_path / "x.csv"
    out.write_text("L,beta\n")
    argv = ["sweep", "ising", "--size", "6", "--beta", "0.4", "--sweeps", "100", "--inprocess", "--quiet"]
    assert main(argv + ["--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(argv + ["--out", str(tmp_path / "x.txt")]) == 2
    assert ".csv" in capsys.readouterr().err
    assert main(argv + ["--out", str(out), "--resume"]) == 2
    assert "not a sweep CSV" in capsys.readouterr().err
    np.testing.assert_equal(out.read_text(), "L,beta\n")  # the user's file is untouched
