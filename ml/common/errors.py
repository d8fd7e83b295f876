"""Exceptions shared by the style-transfer code (re-exported by ``ml.stylize``)."""

from __future__ import annotations

from collections.abc import Callable


class Cancelled(Exception):
    """A stylization or training run stopped because ``should_stop()`` returned True."""


def check_stop(should_stop: Callable[[], bool] | None) -> None:
    """Raise ``Cancelled`` when the caller's ``should_stop`` hook asks for it."""
    if should_stop is not None and should_stop():
        raise Cancelled("stopped at the caller's request")
