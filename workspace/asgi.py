"""The one ASGI app `caseroom serve` runs: socket.io wrapped around the Starlette app,
sharing its services, policy and audit."""

from __future__ import annotations

from typing import Any

from realtime.server import Realtime
from workspace.app import create_app
from workspace.settings import Settings
from workspace.state import Caseroom


def create_asgi(settings: Settings | None = None, caseroom: Caseroom | None = None) -> Any:
    caseroom = caseroom or Caseroom.build(settings)
    realtime = Realtime(caseroom)
    caseroom.live = realtime
    return realtime.asgi(create_app(caseroom=caseroom))
