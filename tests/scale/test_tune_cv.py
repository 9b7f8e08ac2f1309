"""Shared-study tuning (two processes, one SQLite or PostgreSQL study) and outer CV folds on a cluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from matforge.errors import InputError


def _worker_command(data: Path, storage: str, name: str, out: Path) -> list[str]:
    code = "from matforge.cli.app import main; import sys; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", code, "scale", "tune", str(data), "--target", "strength", "--formula-col", "formula",
            "--join-study", "alloys", "--storage", storage, "--model", "ridge", "--trials", "4", "--worker-name", name,
            "--out", str(out)]  # fmt: skip


def _two_workers(tmp_path: Path, storage: str, alloys) -> tuple[dict, dict]:
    data = tmp_path / "alloys.csv"
    alloys(80).to_csv(data, index=False)
    env = {**os.environ, "MATFORGE_QUIET": "1"}
    procs = [subprocess.Popen(_worker_command(data, storage, name, tmp_path / name), env=env, stderr=subprocess.PIPE, text=True) for name in ("w1", "w2")]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    return tuple(json.loads((tmp_path / name / "tuning.json").read_text()) for name in ("w1", "w2"))


def _check_one_study_with_both(storage: str, records) -> None:
    import optuna

    study = optuna.load_study(study_name="alloys", storage=storage)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    # 4 trials a worker, also when both took the enqueued default from SQLite (no row lock): the loser of that race
    # runs a replacement (`optimize_shared`). Before it did, a clean-clone `make test` under load (2026-12-07) once
    # found 7. The credit goes to the worker that set it last before the winner's tell, so a race lost within those
    # milliseconds credits the loser with the recorded default as well as its own 4
    assert len(done) == 8
    # the default configuration once: only the worker that created the study queues it
    assert sum("fixed_params" in t.system_attrs for t in study.trials) == 1
    by_worker = {w: sum(t.user_attrs["worker"] == w for t in done) for w in ("w1", "w2")}
    assert sorted(by_worker.values()) in ([4, 4], [3, 5]) and sum(by_worker.values()) == 8
    assert optuna.study.get_all_study_names(storage) == ["alloys"]
    for record in records:
        assert record["trials_by_this_worker"] == by_worker[record["worker"]] and record["model"] == "ridge"
    last = max(records, key=lambda r: r["trials_in_study"])
    assert last["trials_in_study"] == len(done) and last["workers_in_study"] == ["w1", "w2"]
    assert last["best"]["value"] == pytest.approx(study.best_value)


def test_two_processes_share_one_sqlite_study(tmp_path, alloys):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    records = _two_workers(tmp_path, storage, alloys)
    assert all(r["storage"] == storage for r in records)  # the run folder records the storage used
    _check_one_study_with_both(storage, records)


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture
def postgres(tmp_path):
    """A throwaway PostgreSQL server on 127.0.0.1 (Debian's packages), removed afterwards."""
    pytest.importorskip("psycopg", reason="the [dist] extra (psycopg) is not installed")
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries are not installed (Debian: apt-get install postgresql)")
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as Debian's postgres user
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(f"/tmp/matforge-pg-{os.getpid()}-{time.monotonic_ns()}")
    root.mkdir(mode=0o700)
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True, timeout=120)  # noqa: E731
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "matforge", "--auth=trust", "-E", "UTF8")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o", f"-h 127.0.0.1 -p {port} -k {root}", "start")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start a local PostgreSQL server: {getattr(err, 'stderr', err)}")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "matforge", "studies")
        yield f"postgresql://matforge:secret@127.0.0.1:{port}/studies"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def test_two_processes_share_one_postgresql_study(tmp_path, alloys, postgres):
    records = _two_workers(tmp_path, postgres, alloys)
    assert all(r["storage"] == postgres.replace(":secret@", ":***@") for r in records)  # password never written
    _check_one_study_with_both(postgres, records)


def test_joining_a_study_with_other_data_is_refused(tmp_path, alloys):
    from matforge.scale import tune_worker

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    tune_worker(alloys(60), "strength", study="s", storage=storage, model="ridge", trials=1, formula_cols="formula")
    with pytest.raises(InputError, match="other data"):
        tune_worker(alloys(60, seed=9), "strength", study="s", storage=storage, model="ridge", trials=1, formula_cols="formula")
    with pytest.raises(InputError, match="database URL"):
        tune_worker(alloys(60), "strength", study="s", storage="study.db", model="ridge", trials=1, formula_cols="formula")


def test_outer_cv_folds_on_a_cluster_match_one_process(cluster):
    from sklearn.linear_model import Ridge

    from matforge.scale import cv_folds_distributed

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + rng.normal(0, 0.1, 200)
    single = cv_folds_distributed(Ridge(alpha=1.0), X, y, folds=4, seed=1, protocol="kfold")
    spread = cv_folds_distributed(Ridge(alpha=1.0), X, y, folds=4, seed=1, protocol="kfold", scheduler=cluster.scheduler_address)
    assert np.array_equal(single.oof, spread.oof) and np.array_equal(single.fold, spread.fold)
    assert sorted(np.unique(spread.fold)) == [0, 1, 2, 3]
    assert all(s["r2"] > 0.99 for s in spread.scores)


def test_automodel_outer_folds_on_a_cluster_give_the_single_process_run(cluster, alloys, tmp_path):
    from matforge.learn import train

    data = alloys(90)
    # the trial cap, not the clock, ends each search, so both runs make the same choices; the preset is fixed
    # because its screen (half this test's time) is compared on a cluster by the MatBench test below
    options = dict(formula_cols="formula", models="ridge,knn", cv=3, budget=600, ensemble=2, seed=3, max_trials=3, preset="magpie_extended")
    here = train(data, "strength", tmp_path / "here", **options)
    there = train(data, "strength", tmp_path / "there", scheduler=cluster.scheduler_address, **options)
    oof_here = np.loadtxt(here / "oof_predictions.csv", delimiter=",", skiprows=1)
    oof_there = np.loadtxt(there / "oof_predictions.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(oof_here, oof_there)
    metrics_here, metrics_there = (json.loads((run / "metrics.json").read_text()) for run in (here, there))
    assert metrics_here["fold_members"] == metrics_there["fold_members"]
    assert metrics_there["outer_folds_on"].startswith("tcp://127.0.0.1")
    assert "outer_folds_on" not in metrics_here


def test_a_trial_finished_first_by_another_process_does_not_end_the_search(tmp_path):
    """Two processes sharing an SQLite study can both take its one enqueued trial; optuna refuses the second
    tell ("Cannot tell a COMPLETE trial"). That is a lost race, not an error: the trial's result is in the study
    and the search goes on, with a replacement for the trial the other process recorded."""
    import optuna

    from matforge.learn._search import optimize_shared

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'race.db'}", study_name="race")

    def first_one_finished_elsewhere(trial):  # what the other process does first: tell the same trial
        if trial.number == 0:
            study.tell(trial.number, 1.0)
        return 2.0 + trial.suggest_float("x", 0, 1)

    optimize_shared(study, first_one_finished_elsewhere, n_trials=3)
    # trial 0 is the other process's; this one ran a replacement, so it recorded the 3 it was asked for
    assert len(study.trials) == 4 and study.trials[0].value == 1.0
    assert all(t.state == optuna.trial.TrialState.COMPLETE and t.value >= 2.0 for t in study.trials[1:])

    def second_one_finished_elsewhere(trial):
        if trial.number == 4:
            study.tell(trial.number, 1.0)
        return 2.0

    # without replacement (AutoModel's default step: the default scored anywhere is enough) the lost trial counts
    optimize_shared(study, second_one_finished_elsewhere, n_trials=2, replace_lost=False)
    assert len(study.trials) == 6 and study.trials[4].value == 1.0 and study.trials[5].value == 2.0

    def credited_when_done(trial):  # `tune`'s objective: the worker's credit is set last, which fails if told first
        if trial.number == 6:
            study.tell(trial.number, 1.0)
        trial.set_user_attr("worker", "here")
        return 2.0

    optimize_shared(study, credited_when_done, n_trials=1)
    assert [t.user_attrs.get("worker") for t in study.trials[6:]] == [None, "here"] and study.trials[7].value == 2.0

    def broken(trial):
        raise ArithmeticError("a failed fit is caught and recorded as before")

    optimize_shared(study, broken, n_trials=1)
    assert study.trials[-1].state == optuna.trial.TrialState.FAIL


def test_two_train_processes_cooperate_on_one_shared_study(tmp_path, alloys):
    import optuna

    data = tmp_path / "alloys.csv"
    alloys(80).to_csv(data, index=False)
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    code = "from matforge.cli.app import main; import sys; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "MATFORGE_QUIET": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, "train", str(data), "--target", "strength", "--formula-col", "formula",
                          "--models", "ridge", "--cv", "2", "--ensemble", "1", "--budget", "60", "--max-trials", "6", "--preset", "magpie_extended",
                          "--join-study", "alloys", "--storage", storage, "--out", str(tmp_path / name)], env=env, stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]  # fmt: skip
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    names = sorted(optuna.study.get_all_study_names(storage))
    assert names == ["alloys/final/ridge", "alloys/fold0/ridge", "alloys/fold1/ridge"]
    for name in names:
        study = optuna.load_study(study_name=name, storage=storage)
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        # the cap counts both processes' trials: together they run about max_trials, not twice as many
        assert 6 <= len(done) <= 8
    for name in ("a", "b"):
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        assert metrics["study"] == {"name": "alloys", "storage": storage}
        # not planned by each process's own timing: both score their trials with the same repeats
        assert metrics["protocol"]["repeat_plan"]["shared_study"] and metrics["protocol"]["inner_repeats"] == 3


def test_join_study_needs_name_and_storage(alloys, tmp_path):
    from matforge.learn import train

    with pytest.raises(InputError, match="both a study name and a storage"):
        train(alloys(40), "strength", tmp_path / "x", formula_cols="formula", models="ridge", join_study="s")


def test_matbench_folds_on_a_cluster_give_the_single_process_results(cluster, tmp_path):
    from tests.learn.test_benchmark import _synthetic_steels

    from matforge.benchmark import run_matbench

    _synthetic_steels(tmp_path)
    options = dict(folds=[0, 1, 2], budget=300.0, max_trials=3, models=["ridge", "knn"], seed=2)
    here = run_matbench(tmp_path, "steels", tmp_path / "here", **options)
    there = run_matbench(tmp_path, "steels", tmp_path / "there", scheduler=cluster.scheduler_address, **options)
    assert here["tasks"]["steels"]["per_fold"] and [f["fold"] for f in there["tasks"]["steels"]["per_fold"]] == [0, 1, 2]
    def untimed(fold: dict) -> dict:  # the same scores, models and trials; the seconds are the machine's
        searches = [{k: v for k, v in entry.items() if not k.endswith("seconds")} for entry in fold["searches"]]
        return {**{k: v for k, v in fold.items() if not k.endswith("seconds")}, "searches": searches}

    for a, b in zip(here["tasks"]["steels"]["per_fold"], there["tasks"]["steels"]["per_fold"], strict=True):
        assert untimed(a) == untimed(b)
    for k in range(3):
        assert (tmp_path / "here" / "steels" / f"fold_{k}_predictions.csv").read_bytes() == (tmp_path / "there" / "steels" / f"fold_{k}_predictions.csv").read_bytes()


def _square(x, *, offset):
    return x * x + offset


def test_partitions_on_workers_run_with_the_allocator_thresholds_restored(cluster):
    from distributed import Client

    from matforge.scale._cluster import map_partitions

    with Client(cluster) as client:
        assert map_partitions(_square, [1, 2, 3], client=client, shared={"offset": 1}) == [2, 5, 10]

        def tuned():
            from matforge.scale import _cluster

            return _cluster._MALLOC_TUNED

        # every worker that ran a partition set glibc's thresholds once (Dask's nanny environment disables
        # their adaptation, which made numpy-heavy partitions 4x slower)
        assert any(client.run(tuned).values())
