"""HTTP to a Caseroom server with the standard library only (an agency's machine needs
nothing but PyNaCl): JSON calls, and ciphertext streamed both ways in 64 KiB pieces."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import urlsplit

PIECE = 64 * 1024


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        found = body.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        self.status = status
        self.code = str(error.get("code", "error"))
        self.body = body
        super().__init__(f"{status} {self.code}: {error.get('message', '')}")


class Api:
    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("CASEROOM_URL must be http(s)://host[:port]")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.base = parts.path + "/api/v1"
        self.token = token

    def _connection(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=300)

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}", "User-Agent": "caseroom-client/1"}
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def json(self, method: str, path: str, body: Any = None) -> Any:
        conn = self._connection()
        try:
            payload = None if body is None else json.dumps(body).encode()
            conn.request(
                method, self.base + path, payload,
                self._headers("application/json" if payload is not None else None),
            )  # fmt: skip
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        data = json.loads(raw) if raw else {}
        if response.status >= 400:
            raise ApiError(response.status, data if isinstance(data, dict) else {})
        return data

    def upload(self, path: str, src: BinaryIO, size: int) -> None:
        """PUT a body of known size, read from `src` a piece at a time."""
        conn = self._connection()
        try:
            conn.putrequest("PUT", self.base + path)
            for name, value in self._headers("application/octet-stream").items():
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            try:
                while piece := src.read(PIECE):
                    conn.send(piece)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server refused early (413, 404): its answer says why
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        if response.status >= 400:
            data = json.loads(raw) if raw else {}
            raise ApiError(response.status, data if isinstance(data, dict) else {})

    def download(self, path: str) -> Iterator[bytes]:
        conn = self._connection()
        try:
            conn.request("GET", self.base + path, headers=self._headers())
            response = conn.getresponse()
            if response.status >= 400:
                raw = response.read()
                data = json.loads(raw) if raw else {}
                raise ApiError(response.status, data if isinstance(data, dict) else {})
            while piece := response.read(PIECE):
                yield piece
        finally:
            conn.close()
