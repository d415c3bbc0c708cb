"""The one ASGI app `caseroom serve` runs: socket.io wrapped around the Starlette app,
sharing its services, policy and audit."""

from __future__ import annotations

from typing import Any

from realtime.server import Realtime
from workspace.app import create_app
from workspace.settings import Settings
from workspace.state import Caseroom

# What uvicorn is told besides the address, by `caseroom serve` and by the tests' live
# server alike. No permessage-deflate on sockets, though browsers offer it: text a member
# chose, compressed in one context with case data, leaks that data by the frames' sizes
# (as CRIME and BREACH did for HTTPS); and each listener's copy of each message would be
# compressed on its own, which costs more CPU than the rest of a message's fan-out.
UVICORN_OPTIONS: dict[str, Any] = {"proxy_headers": False, "ws_per_message_deflate": False}


def create_asgi(settings: Settings | None = None, caseroom: Caseroom | None = None) -> Any:
    caseroom = caseroom or Caseroom.build(settings)
    realtime = Realtime(caseroom)
    caseroom.live = realtime
    return realtime.asgi(create_app(caseroom=caseroom))
