"""Email bodies from Jinja2 templates (templates/email/NAME.txt and NAME.html).

The plain-text part is not HTML-escaped; the HTML part is. Templates receive only what a
service hands them: room references, counts, links into the app, the recipient's own
name — never a child's details or a message (see workspace/services/outbox.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from workspace.workdays import long_date

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates" / "email"
LOCAL = ZoneInfo("Europe/London")

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _local(dt: datetime | None) -> str:
    """A moment as people in England read it: '3 March 2026, 08:00'."""
    if dt is None:
        return ""
    local = dt.astimezone(LOCAL)
    return f"{local.day} {local:%B %Y, %H:%M}"


env.filters["local"] = _local
# A day with no time of day (an action's due date): "Friday 4 December 2026".
env.filters["day"] = lambda d: long_date(d) if d else ""
env.filters["plural"] = lambda n, one, many: one if n == 1 else many


@dataclass(frozen=True)
class Rendered:
    text: str
    html: str


def render(name: str, context: dict[str, Any]) -> Rendered:
    return Rendered(
        text=env.get_template(f"{name}.txt").render(context),
        html=env.get_template(f"{name}.html").render(context),
    )
