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
    from matforge.cli import featurize  # noqa: F401
    from matforge.cli import potential  # noqa: F401  (adds the `potential` group)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; exit 0 on success, 2 on bad input (one line on stderr), 1 on internal error."""
    import click

    from matforge.errors import InputError

    _register()
    try:
        app(args=argv, standalone_mode=False)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except click.exceptions.UsageError as err:
        print(f"error: {err.format_message()}", file=sys.stderr)
        return 2
    except click.exceptions.Exit as err:
        return err.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    except FileNotFoundError as err:
        print(f"error: {err.filename}: file not found. Check the path.", file=sys.stderr)
        return 2
    except Exception as err:  # internal error: say what and where, exit 1
        print(f"internal error: {type(err).__name__}: {err}", file=sys.stderr)
        if "--debug" in sys.argv or __import__("os").environ.get("MATFORGE_DEBUG"):
            raise
        return 1
    return 0


def run() -> None:
    sys.exit(main())
