"""Distributed screening: identical to one process, survives a killed worker, resumes from partition files."""

from __future__ import annotations

import os
import signal
import threading
import time

import pandas as pd
import pytest

from matforge.scale import screen_distributed


def _screen(run, out, space, **kw):
    return screen_distributed(run, space, out, top=15, chunk_size=40, rows_per_partition=80, **kw)


def test_cluster_screen_is_byte_identical_to_single_process_and_to_design_screen(tmp_path, alloy_run, alloy_space, cluster):
    from matforge.design import screen
    from matforge.learn import write_table

    single = _screen(alloy_run, tmp_path / "single.csv", alloy_space)
    spread = _screen(alloy_run, tmp_path / "cluster.csv", alloy_space, scheduler=cluster.scheduler_address)
    assert single.summary["partitions"] > 4
    assert (tmp_path / "single.csv").read_bytes() == (tmp_path / "cluster.csv").read_bytes()
    reference = screen(alloy_run, alloy_space, top=15, chunk_size=40, progress=False)
    write_table(reference.top, tmp_path / "reference.csv")
    assert (tmp_path / "reference.csv").read_bytes() == (tmp_path / "single.csv").read_bytes()
    assert spread.summary["candidates"] == reference.summary["candidates"]
    # the known trend: the best alloys carry the most Ni and Co and no Cr
    assert "Cr" not in spread.top["formula"].iat[0]


def test_killing_a_worker_mid_screen_still_gives_the_complete_identical_result(tmp_path, alloy_run, alloy_space):
    import logging

    from distributed import Client, LocalCluster

    single = _screen(alloy_run, tmp_path / "single.csv", alloy_space)
    work = tmp_path / ".cluster.csv.partial"
    killed = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=logging.CRITICAL) as c, Client(c) as client:
        pids = client.run(os.getpid)

        def kill_one_when_work_has_started():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not list(work.glob("part-*.parquet")):
                time.sleep(0.05)
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

        watcher = threading.Thread(target=kill_one_when_work_has_started, daemon=True)
        watcher.start()
        result = _screen(alloy_run, tmp_path / "cluster.csv", alloy_space, scheduler=c.scheduler_address)
        watcher.join()
        assert killed and killed[0] not in client.run(os.getpid).values()
    assert result.summary["candidates"] == single.summary["candidates"]
    assert (tmp_path / "single.csv").read_bytes() == (tmp_path / "cluster.csv").read_bytes()


def _interrupt_after_two_partitions(monkeypatch, run, out, space):
    """Screen `space` into `out` until a Ctrl-C after two partitions (the partitions then work again)."""
    import matforge.scale._screen as module

    real = module._screen_range
    calls = []

    def interrupted_after_two(part, **kw):
        calls.append(part.index)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return real(part, **kw)

    monkeypatch.setattr(module, "_screen_range", interrupted_after_two)
    with pytest.raises(KeyboardInterrupt):
        _screen(run, out, space)
    monkeypatch.setattr(module, "_screen_range", real)


def test_interrupted_screen_resumes_from_finished_partitions(tmp_path, alloy_run, alloy_space, monkeypatch):
    reference = _screen(alloy_run, tmp_path / "reference.csv", alloy_space)
    _interrupt_after_two_partitions(monkeypatch, alloy_run, tmp_path / "out.csv", alloy_space)
    assert not (tmp_path / "out.csv").exists()
    resumed = _screen(alloy_run, tmp_path / "out.csv", alloy_space)
    assert resumed.summary["resumed_partitions"] == 2
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "reference.csv").read_bytes()
    assert resumed.summary["candidates"] == reference.summary["candidates"]
    assert not (tmp_path / ".out.csv.partial").exists()
    summary = pd.read_json(tmp_path / "out.summary.json", typ="series")
    assert summary["candidates"] == reference.summary["candidates"]


def test_partitions_kept_in_another_order_are_not_resumed(tmp_path, alloy_run, alloy_space, monkeypatch):
    import json

    _interrupt_after_two_partitions(monkeypatch, alloy_run, tmp_path / "out.csv", alloy_space)
    # an interrupted run of a version whose merge ordered rows by score and candidate alone (no "order" stored)
    stamp = tmp_path / ".out.csv.partial" / "_settings.json"
    settings = json.loads(stamp.read_text())
    del settings["order"]
    stamp.write_text(json.dumps(settings))
    assert _screen(alloy_run, tmp_path / "out.csv", alloy_space).summary["resumed_partitions"] == 0
