"""A published plan as a PDF (issue #11, item 6), drawn (workspace/pdf.py) from the same
document as the version's page (templates/_plan_document.html) and the same print
stylesheet, so the paper, the PDF and the screen say the same thing."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Protocol

from weasyprint import Document

from workspace.access import LoadedRoom
from workspace.models import Organisation, User
from workspace.pdf import LocalOnly, layout
from workspace.templating import env


class Signed(Protocol):
    """What a PDF needs of a published version (views.ShownVersion has it)."""

    @property
    def version(self) -> int: ...
    @property
    def signed_by(self) -> User: ...
    @property
    def signed_by_org(self) -> Organisation: ...
    @property
    def signed_at(self) -> datetime: ...
    @property
    def plan(self) -> dict[str, Any]: ...
    @property
    def plan_type(self) -> str: ...
    @property
    def room(self) -> LoadedRoom: ...


def filename(published: Signed) -> str:
    """plan-CR-7K2M9P-v3.pdf: the room's reference, never the child's name (file names
    show up in download lists, mail attachments and shared drives)."""
    reference = re.sub(r"[^A-Za-z0-9-]", "", published.room.room.reference)
    return f"plan-{reference}-v{published.version}.pdf"


def html(published: Signed, printed_by: User, printed_at: datetime) -> str:
    return env.get_template("plan_pdf.html").render(
        published=published, printed_by=printed_by, printed_at=printed_at
    )


def document(
    published: Signed,
    printed_by: User,
    printed_at: datetime,
    fetcher: LocalOnly | None = None,
) -> Document:
    """Laid out, not yet written: its pages' text can be read back (tests do)."""
    return layout(html(published, printed_by, printed_at), fetcher)


def render(published: Signed, printed_by: User, printed_at: datetime) -> bytes:
    """The PDF. `printed_at` comes from the app's clock (workspace/clock.py)."""
    pdf: bytes = document(published, printed_by, printed_at).write_pdf()
    return pdf
