"""Jinja2 pages; for htmx requests a named block is rendered alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from workspace import fileformat
from workspace.clock import iso
from workspace.models.agency import EVENT_LABELS
from workspace.models.message import KIND_LABELS, MESSAGE_KINDS
from workspace.models.sharing import LAWFUL_BASES
from workspace.services.plans import labels as plan_labels
from workspace.workdays import school_deadline

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def human_size(n: int) -> str:
    """Bytes as people read them (1 KB = 1024 bytes): 900 B, 12 KB, 3.4 MB."""
    if n < 1024:
        return f"{n} B"
    kb = round(n / 1024)
    return f"{kb} KB" if kb < 1024 else f"{n / (1024 * 1024):.1f} MB"


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["iso"] = iso
env.filters["when"] = lambda dt: dt.strftime("%d %b %Y, %H:%M") if dt else ""
env.filters["label"] = lambda s: (s or "").replace("_", " ")
# A sharing decision's "Should I share?" transcript, kept as JSON (issue #15).
env.filters["from_json"] = lambda text: json.loads(text) if text else {}


env.filters["filesize"] = human_size
# What a person chose to share, not the ciphertext the server stores (17 bytes a chunk more).
env.filters["plainsize"] = lambda n: human_size(fileformat.plaintext_size(n))
env.globals["MESSAGE_KINDS"] = MESSAGE_KINDS
env.filters["kind"] = lambda k: KIND_LABELS.get(k or "", k or "")
env.filters["agency_event"] = lambda t: EVENT_LABELS.get(t or "", t or "")
env.filters["school_deadline"] = school_deadline
env.globals["LAWFUL_BASES"] = LAWFUL_BASES
# Plans (templates/_plan_document.html): the same words as the comparison's.
env.globals["PLAN_TEXT_FIELDS"] = plan_labels.TEXT_FIELDS
env.globals["PLAN_KEY_DATES"] = plan_labels.KEY_DATES
env.filters["plan_status"] = plan_labels.status
env.filters["plan_category"] = plan_labels.category
env.filters["plan_owner"] = plan_labels.owner
env.filters["long_date"] = plan_labels.long_date
env.filters["uk_when"] = plan_labels.uk_when


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    block: str | None = None,
) -> HTMLResponse:
    caller = getattr(request.state, "caller", None)
    ctx: dict[str, Any] = {
        "request": request,
        "me": caller.user if caller else None,
        "csrf_token": caller.web_session.csrf_token if caller and caller.web_session else "",
        **(context or {}),
    }
    template = env.get_template(name)
    if block and request.headers.get("hx-request") == "true":
        html = "".join(template.blocks[block](template.new_context(ctx)))
    else:
        html = template.render(ctx)
    return HTMLResponse(html, status_code=status_code)
