"""Entry point of the `matforge` command.

Only typer is imported here so that `matforge --help` is instant; every command imports the heavy
modules it needs inside its own function.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="matforge",
    help="Machine learning for materials science: featurize, train, predict, screen, design.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register() -> None:
    # Each command module adds its commands to `app`; imports stay light at module level.
    from matforge.cli import (  # noqa: F401
        benchmark,
        datasets,
        design,
        explain,
        explore,
        featurize,
        micro,
        potential,
        scale,
        train,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; exit 0 on success, 2 on bad input (one line on stderr), 1 on internal error."""
    import os
    import warnings

    from matforge.errors import InputError, ModelError

    # a model search fits many configurations, and scikit-learn's notes about single fits (a Gaussian process'
    # length scale at its bound, an MLP stopped at max_iter) are expected there: the search scores each
    # configuration for what it is, so they are not the user's to act on (the Python API still shows them)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"sklearn\.")
    # pymatgen says so for every CIF written with rounded coordinates (1/3 as 0.33333); other CIF issues still show
    warnings.filterwarnings("ignore", message=r"Issues encountered while parsing CIF: \d+ fractional coordinates rounded", category=UserWarning)
    _register()
    try:
        # standalone mode: typer reports usage errors itself (exit 2) and ends with SystemExit
        app(args=argv, prog_name="matforge")
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if code == 130:  # typer turns Ctrl-C into exit 130 without a word
            print(INTERRUPTED, file=sys.stderr)
        return code
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except Exception as err:  # internal error: say what, exit 1 (MATFORGE_DEBUG=1 shows the traceback)
        if os.environ.get("MATFORGE_DEBUG"):
            raise
        print(f"internal error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


INTERRUPTED = "interrupted; run again with --resume where the command offers it"


def run() -> None:
    sys.exit(main())
