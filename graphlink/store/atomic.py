"""Crash-safe output folders.

An output folder ``DIR`` is written as a hidden sibling ``.DIR.tmp-PID`` and
renamed into place only when every file in it is complete and on disk. A
previous ``DIR`` is first moved aside to ``.DIR.old-PID`` and deleted after the
swap. So whenever a run is killed (even with SIGKILL), ``DIR`` is either
absent, the complete previous output or the complete new one, and never a
half-written folder.

A killed run can leave its hidden siblings behind. :func:`cleanup_stale`
(called before every write and before a previous output is read) removes
those whose process is gone, and if the kill fell between the two renames, so
that ``DIR`` is missing while a complete ``.DIR.old-PID`` exists, it puts that
previous output back. Siblings of a process that is still running are never
touched, and hidden siblings are never read as output.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

_SIBLING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)$")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (a zombie counts as gone).

    Examples
    --------
    >>> pid_alive(os.getpid())
    True
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    try:  # Linux: a killed child not yet reaped by its parent is a zombie
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def temp_dir(out_dir: Path) -> Path:
    """The hidden folder a run of this process writes ``out_dir`` into."""
    return out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"


def _siblings(out_dir: Path) -> list[tuple[Path, str, int]]:
    if not out_dir.parent.is_dir():
        return []
    found = []
    for child in out_dir.parent.iterdir():
        match = _SIBLING.match(child.name)
        if match and match["name"] == out_dir.name and child.is_dir():
            found.append((child, match["kind"], int(match["pid"])))
    return sorted(found, key=lambda item: (item[1], item[2]))


def cleanup_stale(out_dir: str | Path, required: Iterable[str] = ()) -> list[str]:
    """Remove hidden leftovers of killed runs writing ``out_dir``; restore a previous output.

    Parameters
    ----------
    out_dir : path
        The output folder.
    required : iterable of str
        File names a complete output has; a moved-aside previous output is put
        back only if it has all of them.

    Returns
    -------
    list of str
        What was done, one line each (folder names only).
    """
    out_dir = Path(out_dir)
    required = tuple(required)
    done = []
    stale = [(path, kind, pid) for path, kind, pid in _siblings(out_dir)
             if pid != os.getpid() and not pid_alive(pid)]
    if not out_dir.exists():
        complete = [path for path, kind, _ in stale
                    if kind == "old" and all((path / name).is_file() for name in required)]
        if complete:
            newest = max(complete, key=lambda p: p.stat().st_mtime)
            newest.rename(out_dir)
            done.append(f"restored {out_dir.name} from {newest.name} (left by a killed run)")
            stale = [item for item in stale if item[0] != newest]
    for path, _, _ in stale:
        shutil.rmtree(path, ignore_errors=True)
        done.append(f"removed {path.name} (left by a killed run)")
    return done


def _fsync_tree(path: Path) -> None:
    for child in path.iterdir():
        if child.is_dir():  # a folder carried over from the previous output (cases/, csv/)
            continue
        with open(child, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(path)


def _link(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _link_copy(src: Path, dst: Path) -> None:
    """Hard-link (or copy) a file or a folder tree from the previous output into the new one."""
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, copy_function=_link, symlinks=True)
    elif src.is_symlink():
        os.symlink(os.readlink(src), dst)
    else:
        _link(str(src), str(dst))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_dir_atomically(out_dir: str | Path, write: Callable[[Path], None],
                         required: Iterable[str] = (), keep: Callable[[str], bool] | None = None) -> Path:
    """Create or replace ``out_dir`` with what ``write(folder)`` puts in an empty folder.

    The caller decides whether ``out_dir`` may be replaced; stale leftovers of
    killed runs are cleaned first (see :func:`cleanup_stale`). On any error the
    temporary folder is removed and ``out_dir`` is left as it was.

    ``keep(name)`` selects entries of the previous ``out_dir`` (files or
    folders, not hidden) to carry into the new one when ``write`` did not
    write that name: they are hard-linked (copied where links are not
    possible) into the temporary folder before the swap, so the previous
    folder keeps them too until the swap has succeeded, and a crash loses
    nothing.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    cleanup_stale(out_dir, required)
    tmp = temp_dir(out_dir)
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    for leftover in (tmp, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    tmp.mkdir()
    try:
        write(tmp)
        if keep is not None and out_dir.is_dir():
            for child in sorted(out_dir.iterdir()):
                if child.name.startswith(".") or (tmp / child.name).exists() or not keep(child.name):
                    continue
                _link_copy(child, tmp / child.name)
        _fsync_tree(tmp)
        if out_dir.exists():
            out_dir.rename(old)
        tmp.rename(out_dir)
        _fsync_dir(out_dir.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out_dir.exists():
            old.rename(out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return out_dir


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write a file so readers see the old content or the new, never a partial file.

    The data goes to a hidden temporary file beside ``path``, is flushed to
    disk, then renamed over ``path``. The one file writer of graphlink (report,
    exports, simulated worlds); :func:`write_dir_atomically` does whole folders.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_files_atomically(out_dir: str | Path, write: Callable[[Path], None], names: Iterable[str]) -> Path:
    """Create ``out_dir`` with, or replace in it, the files ``names`` that ``write(folder)`` puts in an empty folder.

    The files are written into a hidden temporary folder beside ``out_dir``
    and flushed; a new ``out_dir`` is then created by one rename, while in an
    existing ``out_dir`` each file is atomically replaced and other files are
    left alone (the simulator's worlds). On any error the temporary folder is
    removed and ``out_dir`` is left as it was.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir(out_dir)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        write(tmp)
        _fsync_tree(tmp)
        if out_dir.exists():
            for name in names:
                os.replace(tmp / name, out_dir / name)
            shutil.rmtree(tmp)
        else:
            tmp.rename(out_dir)
        _fsync_dir(out_dir.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
