"""Screen every charge-balanced ABX3 over the elements of Bartel et al.'s data for perovskite formability.

Train `matforge.learn.train` on TableS1 of Bartel et al., Sci. Adv. 5, eaav0693 (2019) (576 experimentally
characterised ABX3; target ``exp_label`` +1 perovskite / -1 not; formula only, ``perovskite`` feature preset
with Goldschmidt t, μ and Bartel's τ computed from Shannon radii; the paper's model outputs t_pred, tau_pred,
tau_prob and the is_train flag are dropped, as are the authors' hand-assigned radii and states so that the
model needs only what the screen can produce). Then screen the template ``A B X3`` with A and B from the
cations of the data, X in {O, F, Cl, Br, I}, A ≠ B, charge balanced with common oxidation states, and count
the candidates predicted perovskite inside and outside the model's domain.

    .venv/bin/python benchmarks/perovskite_screen.py [--data-dir ../shared/data] [--budget 90]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--budget", type=float, default=90.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "perovskite_screen.json"))
    parser.add_argument("--run", default=None, help="keep the trained run folder here (reused when it exists)")
    parser.add_argument("--top-out", default=None, help="also write the predicted perovskites (csv)")
    args = parser.parse_args(argv)
    from matforge.design import DesignSpace, screen
    from matforge.learn import load_run, train

    source = Path(args.data_dir) / "perovskite_bartel2019" / "TableS1.csv"
    table = pd.read_csv(source)
    started = time.time()
    frame = table[["ABX3", "exp_label"]].copy()
    with tempfile.TemporaryDirectory() as work:
        run_dir = Path(args.run) if args.run else Path(work) / "bartel_run"
        reused = (run_dir / "metrics.json").exists()
        if not reused:
            train(frame, "exp_label", run_dir, task="classification", formula_cols="ABX3", preset="perovskite", budget=args.budget, seed=args.seed)
        train_seconds = time.time() - started
        run = load_run(run_dir)
        space = DesignSpace({
            "name": "abx3_bartel_elements",
            "variables": [{
                "type": "template", "column": "ABX3", "template": "A B X3",
                "sites": {"A": sorted(set(table["A"])), "B": sorted(set(table["B"])), "X": ["O", "F", "Cl", "Br", "I"]},
                "charge_balanced": True, "distinct": True,
            }],
        })  # fmt: skip
        t0 = time.time()
        result = screen(run, space, objective="max", top=space.size, progress=False)
        screen_seconds = time.time() - t0
    scored = result.top
    positive = scored["prediction"].astype(float) == 1.0
    from matforge.design._suggest import _canonical

    # compare compositions, not spellings: the table writes HoFeO3 where the screen may write FeHoO3
    known = set(_canonical(table["ABX3"]))
    new = ~_canonical(scored["ABX3"]).isin(known).to_numpy()
    unbalanced_sites = len(set(table["A"])) * len(set(table["B"])) * 5
    summary = {
        "data": str(source), "rows": len(table), "target": "exp_label (+1 perovskite)",
        "features": "formula only, preset 'perovskite' (Magpie + t, mu, tau from Shannon radii)",
        "cv": run.metrics["cv"], "best_model": run.metrics["best_model"], "protocol": run.metrics["protocol"],
        "elements": {"A": len(set(table["A"])), "B": len(set(table["B"])), "X": 5},
        "site_combinations": unbalanced_sites, "charge_balanced_candidates": int(space.size),
        "counting": "one row per composition (A ≠ B; a composition reachable as A=Fe,B=Ho and A=Ho,B=Fe counts once)",
        "predicted_perovskite": int(positive.sum()),
        "predicted_perovskite_in_domain": int((positive & scored["in_domain"]).sum()),
        "predicted_perovskite_out_of_domain": int((positive & ~scored["in_domain"]).sum()),
        "predicted_perovskite_new_in_domain": int((positive & scored["in_domain"] & new).sum()),
        "in_domain": int(scored["in_domain"].sum()),
        "per_anion": {x: {"candidates": int((scored["X"] == x).sum()), "predicted_perovskite": int((positive & (scored["X"] == x)).sum()), "predicted_perovskite_in_domain": int((positive & scored["in_domain"] & (scored["X"] == x)).sum())} for x in ["O", "F", "Cl", "Br", "I"]},
        "training_compounds_rescreened": int((~new).sum()),
        "top_in_domain_new": scored.loc[scored["in_domain"] & new, ["ABX3", "proba_1.0" if "proba_1.0" in scored else scored.columns[-3]]].head(15).to_dict(orient="records"),
        "train_seconds": None if reused else round(train_seconds, 1), "run_reused": reused, "screen_seconds": round(screen_seconds, 1), "budget": args.budget, "seed": args.seed,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()},
    }  # fmt: skip
    print(f"{summary['charge_balanced_candidates']:,} charge-balanced ABX3 compositions of {unbalanced_sites:,} site combinations; "
          f"{summary['predicted_perovskite']:,} predicted perovskite ({summary['predicted_perovskite_in_domain']:,} in domain, "
          f"{summary['predicted_perovskite_new_in_domain']:,} of them not in the training table); CV {json.dumps({k: round(v['mean'], 3) for k, v in run.metrics['cv'].items()})}")
    for x, row in summary["per_anion"].items():
        print(f"  X = {x:2s}: {row['candidates']:6d} candidates, {row['predicted_perovskite']:6d} predicted perovskite, {row['predicted_perovskite_in_domain']:6d} in domain")
    print(f"{'loaded the kept run' if reused else 'train'} {train_seconds:.0f} s, screen {screen_seconds:.1f} s")
    if args.top_out:
        scored.loc[positive].to_csv(args.top_out, index=False)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
