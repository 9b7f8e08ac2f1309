"""Public benchmarks run with matforge's default pipeline (MatBench v0.1 composition tasks and two structure tasks)."""

from matforge.benchmark._matbench import TASKS, MatbenchTask, load_task, run_fold, run_matbench, summarize

__all__ = ["TASKS", "MatbenchTask", "load_task", "run_fold", "run_matbench", "summarize"]
