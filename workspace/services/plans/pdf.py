"""A published plan as a PDF (issue #11, item 6), drawn by WeasyPrint from the same
document as the version's page (templates/_plan_document.html) and the same print
stylesheet, so the paper, the PDF and the screen say the same thing.

Case data must not leave the server while it is drawn: the URL fetcher serves our own
stylesheet from disk and refuses every other address (web, other files, data URLs), so
nothing in a plan, a template or a stylesheet can make the renderer reach out.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint import HTML, Document
from weasyprint.urls import URLFetcher, URLFetcherResponse

from workspace.access import LoadedRoom
from workspace.models import Organisation, User
from workspace.templating import env

STATIC = Path(__file__).resolve().parents[3] / "static"
STYLESHEET = STATIC / "caseroom.css"


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


class Refused(ValueError):
    """An address the PDF renderer may not fetch."""


class LocalOnly(URLFetcher):
    """Serves static/caseroom.css from disk; refuses everything else, and keeps a list of
    both so a test can prove it."""

    def __init__(self) -> None:
        super().__init__(timeout=1, allowed_protocols=("file",))
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.scheme == "file" and not parts.netloc:
            path = Path(url2pathname(parts.path)).resolve()
            if path == STYLESHEET:
                self.served.append(url)
                body = STYLESHEET.read_bytes()
                return URLFetcherResponse(url, body, {"Content-Type": "text/css; charset=utf-8"})
        self.refused.append(url)
        raise Refused(f"The PDF renderer fetches nothing but its stylesheet: {url[:200]}")


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
    source = HTML(
        string=html(published, printed_by, printed_at),
        base_url=STATIC.as_uri() + "/",
        url_fetcher=fetcher or LocalOnly(),
    )
    return source.render()


def render(published: Signed, printed_by: User, printed_at: datetime) -> bytes:
    """The PDF. `printed_at` comes from the app's clock (workspace/clock.py)."""
    pdf: bytes = document(published, printed_by, printed_at).write_pdf()
    return pdf
