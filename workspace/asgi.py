"""The one ASGI app `caseroom serve` runs (socket.io joins it with the chat issue)."""

from __future__ import annotations

from workspace.app import create_app

app = create_app()
