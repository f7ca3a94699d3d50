"""The ``underdog`` command line: a thin layer over the library.

Commands: ``compare`` (the main job), ``datasets``, ``recipes``, ``weights``, ``train`` and
``predict``; see ``docs/cli.md``. Every error about the user's input is one line on stderr,
``underdog: error: ...``, with exit code 2 and nothing written. Bad input is what the CLI's
own checks (:class:`~underdog.cli.commands.UsageError`) and the library
(:class:`~underdog.UnderdogError`) report; any other exception is a bug and propagates with
its traceback.

:func:`main` is the console script ``underdog`` and ``python -m underdog``; the parser is in
:mod:`underdog.cli.parser`, the commands in :mod:`underdog.cli.commands` and the option
types in :mod:`underdog.cli.argtypes`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from ..exceptions import UnderdogError
from .commands import UsageError
from .parser import PROG, build_parser

__all__ = ["main"]


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit code (0 success, 2 bad input).

    Errors that are not bad input (bugs) are raised, not reported as bad input: the console
    script then prints the traceback and exits with 1.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        parser.print_help(out)
        return 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    started = time.perf_counter()
    try:
        code: int = args.func(args, out, err)
    except (UsageError, UnderdogError) as exc:
        # Bad input. What other libraries reject in the user's input (pandas parsing a file,
        # an environment variable) is turned into the library's errors where it arises.
        print(f"{PROG}: error: {_one_line(exc)}", file=err)
        return 2
    except BrokenPipeError:
        # The reader went away (`underdog weights ... | head`): not an error of ours. Point
        # stdout at /dev/null so that the interpreter's final flush does not complain.
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"{PROG}: error: cannot write or read{where}: {exc.strerror or exc}", file=err)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=err)
        return 130
    if args.command == "compare" and not args.quiet:
        print(f"done in {time.perf_counter() - started:.1f} s", file=err)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
