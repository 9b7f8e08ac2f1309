"""`matforge screen`, `design`, `suggest` and `append`: thin wrappers over `matforge.design`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from matforge.cli.app import app


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def _source(space: Path | None, candidates: Path | None) -> None:
    from matforge.errors import InputError

    if (space is None) == (candidates is None):
        raise InputError("give either --space or --candidates")


def _ties(result) -> str:
    """A note when several kept candidates share the best score: the model does not rank them."""
    tied = result.summary.get("tied_at_best", 0)
    if tied < 2:
        return ""
    return (f"; {tied} share the best score {result.top['score'].iloc[0]:g} (a range met, or predictions at the edge of the"
            " training targets): among them in-domain first, then smaller uncertainty where the model gives one")  # fmt: skip


@app.command()
def screen(
    run_dir: Annotated[Path, typer.Argument(help="Run folder written by 'matforge train'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Table of the best candidates (csv, tsv, parquet, xlsx, json).")],
    space: Annotated[Path | None, typer.Option("--space", "-s", help="Design space file (YAML or JSON; see docs/design.md).")] = None,
    candidates: Annotated[Path | None, typer.Option("--candidates", "-c", help="Table of candidates instead of a space.")] = None,
    objective: Annotated[str, typer.Option("--objective", help="max, min, target:VALUE or range:LO:HI.")] = "max",
    top: Annotated[int, typer.Option("--top", "-n", help="Candidates kept, best first.")] = 100,
    kappa: Annotated[float, typer.Option("--kappa", help="Add kappa × uncertainty to the score (negative: prefer certain).")] = 0.0,
    positive: Annotated[str | None, typer.Option("--class", help="Classification: the class whose probability is ranked (default: the last).")] = None,
    in_domain_only: Annotated[bool, typer.Option("--in-domain-only", help="Keep only candidates inside the model's domain.")] = False,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Candidates featurized at once (bounds memory).")] = 20_000,
    summary: Annotated[Path | None, typer.Option("--summary", help="Also write the counts (screened, in domain, per class, tied at the best score) as JSON.")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler for a --space screen (tcp://HOST:PORT or local; \\[dist] extra); resumes from finished partitions.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Workers of a local Dask cluster (with --scheduler local).")] = None,
) -> None:
    """Score every candidate of a design space (or table) with a trained model and keep the best."""
    import json
    import os

    from matforge.design import Objective
    from matforge.design import screen as run_screen
    from matforge.files import atomic_file, refuse_overwrite_input
    from matforge.learn import write_table

    _source(space, candidates)
    refuse_overwrite_input(out, space, candidates, summary)
    if space is not None and (scheduler or workers or os.environ.get("MATFORGE_SCHEDULER")):
        from matforge.scale import screen_distributed

        result = screen_distributed(run_dir, space, out, objective=Objective.parse(objective, kappa=kappa, positive=positive), top=top, in_domain_only=in_domain_only, chunk_size=chunk_size, scheduler=scheduler, workers=workers)
        _say(f"{out}: best {len(result.top)} of {result.summary['candidates']:,} candidates (partitions on {scheduler or 'the cluster'})" + _ties(result))
        return
    result = run_screen(run_dir, space, candidates, objective=Objective.parse(objective, kappa=kappa, positive=positive), top=top, in_domain_only=in_domain_only, chunk_size=chunk_size)
    write_table(result.top, out)
    counts = result.summary
    classes = "; ".join(f"predicted {label}: {c['in_domain']} in domain, {c['out_of_domain']} outside" for label, c in counts["classes"].items())
    unreadable = f", {counts['unreadable']:,} could not be read (no prediction)" if counts.get("unreadable") else ""
    _say(f"{out}: best {len(result.top)} of {counts['candidates']:,} candidates ({counts['grid_points']:,} grid points), {counts['in_domain']:,} in domain{unreadable}" + (f"; {classes}" if classes else "") + _ties(result))
    if summary is not None:
        with atomic_file(summary) as tmp:
            tmp.write_text(json.dumps(counts, indent=1) + "\n")


@app.command()
def design(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run folder(s); several with --optimizer nsga2 give a Pareto front.")],
    space: Annotated[Path, typer.Option("--space", "-s", help="Design space file (continuous variables need no step).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Table of designs; an HTML page with the plot is written beside it.")],
    goal: Annotated[str, typer.Option("--goal", "-g", help="max, min, target:VALUE or range:LO:HI; comma-separated, one per run.")] = "max",
    optimizer: Annotated[str, typer.Option("--optimizer", help="pso, ga, bo (one goal) or nsga2 (one or more goals).")] = "ga",
    n: Annotated[int, typer.Option("--n", help="Designs evaluated by the model in total (bo: use ~100-300).")] = 2000,
    pop_size: Annotated[int, typer.Option("--pop-size", help="Population of pso, ga and nsga2.")] = 40,
    kappa: Annotated[float, typer.Option("--kappa", help="Add kappa × uncertainty to each score; negative prefers low predicted variance.")] = 0.0,
    in_domain_only: Annotated[bool, typer.Option("--in-domain-only", help="Designs outside the model's domain count as infeasible.")] = False,
    top: Annotated[int, typer.Option("--top", help="Designs written (single goal).")] = 20,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Inverse design: search a space for inputs the model(s) predict to meet the goal(s)."""
    from matforge.design import optimize
    from matforge.design._page import write_design_page
    from matforge.files import refuse_overwrite_input
    from matforge.learn import write_table

    page = out.with_suffix(".html")
    refuse_overwrite_input(out, space, *run_dirs)
    refuse_overwrite_input(page, space, *run_dirs)
    result = optimize(run_dirs, space, goal, optimizer=optimizer, n=n, pop_size=pop_size, kappa=kappa, in_domain_only=in_domain_only, top=top, seed=seed)
    write_table(result.designs, out)
    write_design_page(result, page, title=f"matforge design: {', '.join(p.name for p in run_dirs)}")
    what = "Pareto-optimal designs" if optimizer == "nsga2" else "best designs"
    _say(f"{out}: {len(result.designs)} {what} from {len(result.evaluations):,} evaluations ({result.info['feasible_evaluations']:,} feasible); plot in {page}")


@app.command()
def suggest(
    run_dir: Annotated[Path, typer.Argument(help="Run folder trained on the experiments so far.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Table of the suggested experiments, best first.")],
    space: Annotated[Path | None, typer.Option("--space", "-s", help="Design space file.")] = None,
    candidates: Annotated[Path | None, typer.Option("--candidates", "-c", help="Table of candidates instead of a space.")] = None,
    batch: Annotated[int, typer.Option("--batch", "-k", help="Experiments to suggest.")] = 5,
    strategy: Annotated[str, typer.Option("--strategy", help="ei, ucb, pi, max-uncertainty or greedy.")] = "ei",
    objective: Annotated[str, typer.Option("--objective", help="max, min, target:VALUE or range:LO:HI.")] = "max",
    kappa: Annotated[float, typer.Option("--kappa", help="Exploration weight of ucb.")] = 2.0,
    diversity: Annotated[float, typer.Option("--diversity", help="Spread of the batch in feature space (0: plain top-K).")] = 1.0,
    exclude: Annotated[Path | None, typer.Option("--exclude", help="Table of experiments already done (e.g. the training data): never suggested again.")] = None,
    in_domain_only: Annotated[bool, typer.Option("--in-domain-only", help="Suggest only candidates inside the model's domain.")] = False,
) -> None:
    """Suggest the next experiments (a diverse batch) for closed-loop active learning."""
    from matforge.design import suggest as run_suggest
    from matforge.files import refuse_overwrite_input
    from matforge.learn import write_table

    _source(space, candidates)
    refuse_overwrite_input(out, space, candidates, exclude)
    picks = run_suggest(run_dir, space, candidates, batch=batch, strategy=strategy, objective=objective, kappa=kappa, diversity=diversity, exclude=exclude, in_domain_only=in_domain_only)
    write_table(picks, out)
    _say(f"{out}: {len(picks)} experiments suggested by {strategy} (best measured so far: {picks.attrs.get('incumbent', float('nan')):.4g}); measure them, add the rows with 'matforge append', train again")


@app.command()
def append(
    data: Annotated[Path, typer.Argument(help="Training table so far.")],
    new: Annotated[Path, typer.Argument(help="New measurements (same columns; extra columns such as predictions are dropped).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Combined table (may not be DATA or NEW).")],
) -> None:
    """Add newly measured rows to a training table (the 'measure → append → train again' step of the loop)."""
    from matforge.data import read_table
    from matforge.design._suggest import append_rows
    from matforge.files import refuse_overwrite_input
    from matforge.learn import write_table

    refuse_overwrite_input(out, data, new)
    combined, added = append_rows(read_table(data), read_table(new), new_source=str(new))
    write_table(combined, out)
    _say(f"{out}: {len(combined)} rows ({added} added)")
