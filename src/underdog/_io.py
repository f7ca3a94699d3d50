"""Atomic output: a directory of files appears complete or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile

__all__ = [
    "check_directory_writable",
    "check_output_file",
    "replace_directory",
    "write_file_atomically",
    "write_files_atomically",
]


def _not_a_directory(path: str) -> NotADirectoryError:
    return NotADirectoryError(f"{path} exists and is not a directory")


def check_directory_writable(directory: str | os.PathLike[str]) -> None:
    """Raise, before the work, the ``OSError`` that writing files into ``directory`` would meet.

    The error is the one :func:`write_files_atomically` would meet writing into ``directory``
    (a file where a directory must be, no permission to create or write), raised before the
    work that produces the files, and without leaving anything behind: a temporary directory
    is made and removed where the files would be staged (in ``directory`` if it exists, else
    in its nearest existing ancestor, where the missing directories would be created).

    Args:
        directory: the directory the files will be written into; it need not exist yet.

    Raises:
        OSError: writing into ``directory`` would fail.
    """
    directory = os.path.abspath(os.fspath(directory))
    ancestor = directory
    while not os.path.exists(ancestor):  # the root always exists
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise _not_a_directory(ancestor)
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{os.path.basename(directory)}.", dir=ancestor))
    except OSError as exc:  # name the directory asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, directory) from exc


def write_files_atomically(directory: str | os.PathLike[str], files: dict[str, bytes]) -> None:
    """Write ``files`` (name -> content) into ``directory``.

    A new directory is written under a temporary name next to it and renamed into place.
    An existing directory keeps its other files; each of ``files`` is written to a
    temporary name inside it and renamed over the old one, so no file is ever half-written.
    """
    directory = os.path.abspath(os.fspath(directory))
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    if not os.path.exists(directory):
        staging = tempfile.mkdtemp(prefix=f".{os.path.basename(directory)}.", dir=parent)
        try:
            for name, content in files.items():
                with open(os.path.join(staging, name), "wb") as handle:
                    handle.write(content)
            os.chmod(staging, 0o755)
            os.replace(staging, directory)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return
    if not os.path.isdir(directory):
        raise _not_a_directory(directory)
    for name, content in files.items():
        write_file_atomically(os.path.join(directory, name), content)


def write_file_atomically(path: str | os.PathLike[str], content: bytes) -> None:
    """Write ``content`` to a temporary file next to ``path``, then rename it over ``path``."""
    path = os.path.abspath(os.fspath(path))
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=os.path.dirname(path))
    except OSError as exc:  # name the file asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, path) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def _exchange(first: str, second: str) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the system cannot.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name, use_errno=True) if name else None
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, first.encode(), at_fdcwd, second.encode(), rename_exchange)
    return bool(done == 0)


def replace_directory(directory: str | os.PathLike[str], files: dict[str, bytes]) -> None:
    """Make ``directory`` hold exactly ``files``, replacing it as one unit.

    The files are written into a new directory next to it, which then takes its place: in
    one step where the system can swap two directories (Linux), else by two renames, the
    old directory moving aside first. A reader sees the old directory or the new one, never
    a mix, and an interrupted run leaves one whole directory in place. Two runs writing the
    same directory each put a whole directory in place; the last one stays.
    """
    directory = os.path.abspath(os.fspath(directory))
    parent, base = os.path.dirname(directory), os.path.basename(directory)
    os.makedirs(parent, exist_ok=True)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise _not_a_directory(directory)
    staging = tempfile.mkdtemp(prefix=f".{base}.new.", dir=parent)
    try:
        for name, content in files.items():
            with open(os.path.join(staging, name), "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(staging, 0o755)
        if not os.path.exists(directory):
            os.rename(staging, directory)
            return
        if not _exchange(staging, directory):
            aside = tempfile.mkdtemp(prefix=f".{base}.old.", dir=parent)
            os.rmdir(aside)
            os.rename(directory, aside)
            os.rename(staging, directory)
            staging = aside
        shutil.rmtree(staging, ignore_errors=True)  # now the old directory
    except BaseException:
        if os.path.isdir(staging) and os.path.realpath(staging) != directory:
            shutil.rmtree(staging, ignore_errors=True)
        raise


def check_output_file(path: str | os.PathLike[str], *, reads: list[str]) -> None:
    """Raise, before the work, the ``OSError`` that writing ``path`` should meet.

    Checked by the file's mode, not by ``os.access``, so that a read-only file stays
    read-only for root too.

    Args:
        path: the file the command will write.
        reads: the files the command reads (its own input).

    Raises:
        OSError: ``path`` is one of the files ``reads``, a directory, a read-only file, or in
            a directory that cannot be written.
    """
    import errno
    import stat

    target = os.path.abspath(os.fspath(path))
    for read in reads:
        if os.path.exists(read) and os.path.exists(target) and os.path.samefile(read, target):
            raise OSError(errno.EEXIST, "it is a file this command reads", target)
    if os.path.isdir(target):
        raise OSError(errno.EISDIR, "it is a directory", target)
    if os.path.exists(target) and not os.stat(target).st_mode & (
        stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    ):
        raise OSError(errno.EACCES, "it is read-only", target)
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        raise OSError(errno.ENOENT, "its directory does not exist", target)
    check_directory_writable(parent)
