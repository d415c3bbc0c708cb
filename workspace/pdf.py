"""Documents drawn as PDF by WeasyPrint (a published plan, an access-log report), from the
same templates and print stylesheet as their pages, so paper, PDF and screen agree.

Case data must not leave the server while it is drawn: the URL fetcher serves our own
stylesheet from disk and refuses every other address (web, other files, data URLs), so
nothing in a record, a template or a stylesheet can make the renderer reach out.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint import HTML, Document
from weasyprint.urls import URLFetcher, URLFetcherResponse

STATIC = Path(__file__).resolve().parents[1] / "static"
STYLESHEET = STATIC / "caseroom.css"


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


def layout(html: str, fetcher: LocalOnly | None = None) -> Document:
    """Laid out, not yet written: its pages' text can be read back (tests do)."""
    source = HTML(string=html, base_url=STATIC.as_uri() + "/", url_fetcher=fetcher or LocalOnly())
    return source.render()
