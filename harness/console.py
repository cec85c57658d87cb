"""The one console: where every part of the harness prints what it is doing.

Stages, workers and the CLI print on it: progress lines and warnings on stderr, command output on
stdout. The tables and summaries of the commands are built in :mod:`harness.presentation` and
printed on the same console.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

PIPE_WIDTH = 200
"""Columns of a table printed to a pipe or a file (a terminal uses its own width)."""


def console(stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr): as wide as the terminal (or ``$COLUMNS``), else
    PIPE_WIDTH columns."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() or "COLUMNS" in os.environ else PIPE_WIDTH)


def say(line: str) -> None:
    """One plain progress line on stderr, as it is (no markup, no wrapping): logs and launchers read it."""
    console(stderr=True).print(line, markup=False, highlight=False, soft_wrap=True)
