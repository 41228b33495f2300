"""Reading the user's input files safely: only regular files (a folder or a FIFO named by
mistake would fail obscurely, or block forever), within a size bound, and JSON without a
nesting bomb. Every error names the file, as ``InputError`` does. Writing one whole file or
none (``atomic_write``), for every stage that writes (images, reports, templates, downloads)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from atelier.core.errors import InputError, OutputError
from atelier.core.i18n import N_, tr

MAX_JSON_BYTES = 64 * 1024 * 1024  # a batch config of 100,000 jobs is a few tens of MB
MAX_TABLE_BYTES = 2 * 1024 * 1024 * 1024


def regular_file(path: Path, what: str = N_("file")) -> os.stat_result:
    """``os.stat`` of ``path`` after checking it is a regular file.

    Raises:
        InputError: it does not exist, cannot be read, or is a folder, a FIFO, a device…
    """
    try:
        st = path.stat()
    except FileNotFoundError as e:
        raise InputError(str(path), tr("{what} not found").format(what=tr(what))) from e
    except OSError as e:
        raise InputError(
            str(path),
            tr("cannot read the {what}: {reason}").format(what=tr(what), reason=e.strerror or e),
        ) from e
    if stat.S_ISDIR(st.st_mode):
        raise InputError(str(path), tr("is a folder, not a {what}").format(what=tr(what)))
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            str(path),
            tr("is not a regular file (a pipe or a device?), not a {what}").format(what=tr(what)),
        )
    return st


def read_bytes(path: Path, what: str = N_("file"), limit: int = MAX_TABLE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Raises:
        InputError: as ``regular_file``, or the file is larger than ``limit``.
    """
    st = regular_file(path, what)
    if st.st_size > limit:
        raise InputError(
            str(path),
            tr("the {what} is {size:,} bytes; at most {limit:,} are read").format(
                what=tr(what), size=st.st_size, limit=limit
            ),
        )
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(
            str(path),
            tr("cannot read the {what}: {reason}").format(what=tr(what), reason=e.strerror or e),
        ) from e


def read_json(path: Path, what: str = N_("JSON file"), limit: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file (UTF-8, a BOM allowed).

    Raises:
        InputError: as ``read_bytes``; not UTF-8; invalid JSON (with its line and column);
            nested too deeply for any real config.
    """
    data = read_bytes(path, what, limit)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise InputError(str(path), tr("not UTF-8 text")) from e
    except json.JSONDecodeError as e:
        raise InputError(
            tr("{path} line {line} column {column}").format(
                path=path, line=e.lineno, column=e.colno
            ),
            tr("invalid JSON: {reason}").format(reason=e.msg),
        ) from e
    except RecursionError as e:
        raise InputError(str(path), tr("the JSON is nested too deeply to be a batch config")) from e


NAME_MAX = 255  # bytes in one path component on Linux, macOS (APFS) and Windows (NTFS, UTF-16)


def path_max(folder: Path) -> int:
    """The longest path (bytes) the OS takes under ``folder`` (4096 on Linux)."""
    try:
        return os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        return 4096 if os.name != "nt" else 260


def check_output_dir(out: Path, relative_paths: list[str]) -> None:
    """Make sure the output folder can hold every file of a batch, before anything is stored:
    it is (or can be made) a writable folder, and no file's path is too long for the OS.

    Raises:
        InputError: naming the folder, or the longest file, and why.
    """
    for part in out.parts:
        if len(part.encode("utf-8", "surrogateescape")) > NAME_MAX:
            raise InputError(
                str(out),
                tr("the folder name {part!r}… is over {limit} bytes").format(
                    part=part[:40], limit=NAME_MAX
                ),
            )
    if out.exists() and not out.is_dir():
        raise InputError(
            str(out),
            tr("the output folder is a file")
            if out.is_file()
            else tr("the output folder is not a folder (a device?)"),
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(
            str(out), tr("cannot create the output folder: {reason}").format(reason=e.strerror or e)
        ) from e
    probe = out / f".atelier-write-check-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise InputError(
            str(out),
            tr("cannot write into the output folder: {reason}").format(reason=e.strerror or e),
        ) from e
    limit = path_max(out)
    base = len(str(out.resolve()).encode("utf-8", "surrogateescape")) + 1
    longest = max(relative_paths, key=lambda r: len(r.encode("utf-8")), default="")
    if longest and base + len(longest.encode("utf-8")) + 8 > limit:  # 8: "-10" + a temp suffix
        raise InputError(
            longest[:60] + "…",
            tr("the file's path under {out} is longer than the {limit} bytes the OS takes").format(
                out=out, limit=limit
            ),
        )


def _describe_os_error(e: OSError, path: Path) -> str:
    if e.errno == errno.ENOSPC:
        return tr(
            "The disk is full: cannot write {path}. Free some space, then resume the batch."
        ).format(path=path)
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return tr("No permission to write {path} (read-only or protected folder).").format(
            path=path
        )
    if e.errno == errno.ENOENT:
        return tr("The folder {folder} no longer exists.").format(folder=path.parent)
    return tr("Cannot write {path}: {reason}").format(path=path, reason=e.strerror or e)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    Raises:
        OutputError: with a readable reason (disk full, read-only, folder gone); no partial
            file or temporary file is left behind.
    """
    tmp = path.with_name(f".{path.name}.atelier-{os.getpid()}-{secrets.token_hex(8)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(_describe_os_error(e, path)) from e
