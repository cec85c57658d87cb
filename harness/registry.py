"""Name -> object registries that suggest close names for typos."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return a " (did you mean ...?)" hint, or "" when nothing is close."""
    close = difflib.get_close_matches(name, sorted(choices), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def unknown(kind: str, name: str, choices) -> HarnessError:
    """The standard error for a name that is not registered."""
    choices = sorted(choices)
    return HarnessError(f"unknown {kind} {name!r}{suggest(name, choices)}; choose from: {', '.join(choices)}")


class Registry(Generic[T]):
    """A named collection; ``get`` fails with a did-you-mean message."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T | None = None):
        """Register ``item`` under ``name``; usable as a decorator when ``item`` is None."""
        if item is not None:
            self._add(name, item)
            return item

        def decorator(obj: T) -> T:
            self._add(name, obj)
            return obj

        return decorator

    def _add(self, name: str, item: T) -> None:
        if name in self._items:  # two things under one name: the first would be lost silently
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item

    def get(self, name: str) -> T:
        if name not in self._items:
            raise unknown(self.kind, name, self._items)
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
