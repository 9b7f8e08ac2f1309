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

__all__ = ["atomic_file", "atomic_dir", "refuse_overwrite_input", "replace_dir"]


def refuse_overwrite_input(out: str | os.PathLike, *inputs: str | os.PathLike) -> None:
    """Raise `InputError` when `out` names one of the input files."""
    out_path = Path(out).resolve()
    for item in inputs:
        if item is not None and Path(item).resolve() == out_path:
            raise InputError(
                "the output would overwrite an input file", file=str(out), hint="Choose another --out path"
            )


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` when the block ends without error.

    The temporary name keeps the destination's suffix (or `suffix`) so that writers which infer the
    format from the extension (pandas, matplotlib) still work.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
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


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, keep_existing: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; it replaces `path` when the block ends without error.

    With `keep_existing`, the temporary folder starts as a copy of an existing `path` (used by `--resume`).
    On error the temporary folder is removed and an existing `path` is left untouched.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
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
    """Move the finished folder `src` to `dest`, replacing an existing `dest` only once `src` is complete."""
    src, dest = Path(src), Path(dest)
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(dest, old)
        os.replace(src, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dest)
