"""Run a coroutine to completion from a synchronous test, whatever else is running.

Playwright's sync API keeps an event loop running in the main thread for the whole
session once a browser test has started, so `asyncio.run` there would fail; a short-lived
thread gets a loop of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    return run_in_thread(asyncio.run, coro)


def run_in_thread(fn: Callable[..., T], *args: Any) -> T:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn(*args)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="test-event-loop")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value
