"""Writing outputs safely: nothing half-written, never over a user's input.

Every output file or run folder is written under a temporary name beside its destination and renamed into
place only when complete, so an interrupted or failed command leaves no partial result.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from matforge.errors import InputError

__all__ = ["atomic_file", "atomic_dir", "check_output_dir", "refuse_overwrite_input", "replace_dir", "MARKER"]


def refuse_overwrite_input(out: str | os.PathLike, *inputs: str | os.PathLike) -> None:
    """Raise `InputError` when `out` names one of the input files."""
    out_path = Path(out).resolve()
    for item in inputs:
        if item is not None and Path(item).resolve() == out_path:
            raise InputError(
                "the output would overwrite an input file", file=str(out), hint="Choose another --out path"
            )


MARKER = ".matforge-output"
"""The empty file every output folder carries (`replace_dir` writes it): only such a folder is ever replaced."""


def _written_by_matforge(folder: Path) -> bool:
    # run folders written before the marker existed hold their model card and model
    return (folder / MARKER).exists() or ((folder / "metrics.json").is_file() and (folder / "model").is_dir())


def check_output_dir(out: str | os.PathLike, *inputs: str | os.PathLike | None) -> Path:
    """Raise `InputError` unless `out` can become an output folder without losing anything: a new path, an
    empty folder or a folder matforge wrote (`MARKER`), which holds none of the `inputs` and not the current
    directory. Returns `out` as an absolute path (``.`` and ``..`` resolved; symbolic links kept)."""
    dest = Path(os.path.abspath(out))
    for parent in [dest, *dest.parents]:
        if parent.exists() and not parent.is_dir():
            what = "names an existing file" if parent == dest else f"lies under '{parent}', which is a file"
            raise InputError(f"the output folder {what}", file=str(out), hint="Give --out a folder path")
    if not dest.is_dir():
        return dest
    real = dest.resolve()
    for item in inputs:
        if item is not None and Path(item).resolve().is_relative_to(real):
            raise InputError(f"the output folder holds an input ({item}); replacing it would delete it", file=str(out), hint="Choose another --out folder")
    if Path.cwd().resolve().is_relative_to(real):
        raise InputError("the output folder holds the current directory; replacing it would delete it", file=str(out), hint="Choose a new folder name for --out")
    if any(dest.iterdir()) and not _written_by_matforge(dest):
        raise InputError("the output folder exists and was not written by matforge; replacing it would delete what it holds", file=str(out), hint="Choose a new folder name for --out, or move that folder away first")
    return dest


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` when the block ends without error.

    The temporary name keeps the destination's suffix (or `suffix`) so that writers which infer the
    format from the extension (pandas, matplotlib) still work.
    """
    dest = Path(path)
    _make_parent(dest, path)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix or dest.suffix or ".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file private (0600); give it the mode a normal new file would have
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _make_parent(dest: Path, given) -> None:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise InputError("cannot create the output's folder: part of the path is a file", file=str(given), hint="Give --out a path under a folder") from err
    except PermissionError as err:
        raise InputError("no permission to write the output there", file=str(given), hint="Choose an --out path in a folder you can write to") from err


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, keep_existing: bool = False, inputs=()) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; it replaces `path` when the block ends without error.

    `path` must be new, empty or a folder matforge wrote that holds none of the `inputs` (`check_output_dir`,
    checked before the block runs). With `keep_existing`, the temporary folder starts as a copy of an existing
    `path` (used by `--resume`). On error the temporary folder is removed and an existing `path` is left
    untouched.
    """
    dest = check_output_dir(path, *inputs)
    _make_parent(dest, path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes the folder private (0700); give it a normal folder's mode
    try:
        if keep_existing and dest.is_dir():
            shutil.rmtree(tmp)
            shutil.copytree(dest, tmp)
        yield tmp
        replace_dir(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def replace_dir(src: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Move the finished folder `src` to `dest`, replacing an existing `dest` only once `src` is complete, and
    only where `check_output_dir` allows it (a folder matforge wrote); `src` gets the `MARKER`."""
    src, dest = Path(src), check_output_dir(dest)
    (src / MARKER).touch()
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(dest, old)
        os.replace(src, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dest)
