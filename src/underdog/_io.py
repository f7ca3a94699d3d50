"""Atomic output: a directory of files appears complete or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile

__all__ = ["check_directory_writable", "write_file_atomically", "write_files_atomically"]


def _not_a_directory(path: str) -> NotADirectoryError:
    return NotADirectoryError(f"{path} exists and is not a directory")


def check_directory_writable(directory: str | os.PathLike[str]) -> None:
    """Raise the ``OSError`` that :func:`write_files_atomically` would meet writing into
    ``directory`` (a file where a directory must be, no permission to create or write),
    before the work that produces the files, and without leaving anything behind: a
    temporary directory is made and removed where the files would be staged (in
    ``directory`` if it exists, else in its nearest existing ancestor, where the missing
    directories would be created).
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
