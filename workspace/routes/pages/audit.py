"""The access log, for team managers, IG leads and (for their rooms) lead professionals."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import Invalid
from workspace.pagination import parse_limit
from workspace.services import audit_log, audit_report, exposure
from workspace.services.audit_actions import ACTION_LABELS, CHANNELS
from workspace.templating import render
from workspace.web import app_of, call, pdf_attachment


def _choices(access: Access) -> dict[str, object]:
    return {
        "actions": sorted(ACTION_LABELS.items(), key=lambda kv: kv[1].lower()),
        "channels": CHANNELS,
        "organisations": audit_log.offered_organisations(access),
        "may_export": access.may("review_audit"),
    }


async def audit_page(request: Request) -> Response:
    params = request.query_params
    try:
        filters = audit_log.AuditFilters.parse(params)
    except Invalid as exc:
        # The form again, with what is wrong said on it, not an empty list.
        context = await call(request, _choices)
        return render(
            request,
            "audit.html",
            {**context, "error": exc, "filters": audit_log.AuditFilters(), "raw": params},
            status_code=exc.status,
            block="results",
        )

    def work(access: Access) -> dict[str, object]:
        page = audit_log.list_visits(
            access,
            filters,
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit") or "100"),
        )
        return {
            **_choices(access),
            "page": page,
            "filters": filters,
            "raw": params,
            "span": audit_log.verify_shown(access, page.items),
        }

    return render(request, "audit.html", await call(request, work), block="results")


async def export_page(request: Request) -> Response:
    filters = audit_log.AuditFilters.parse(request.query_params)
    chunks = await call(request, audit_log.export_csv, filters)
    return csv_response(request, chunks)


async def report_page(request: Request) -> Response:
    filters = audit_log.AuditFilters.parse(request.query_params)
    report = await call(request, audit_report.report, filters)
    # Drawn off the event loop, after the unit of work committed (the export is audited).
    body = await run_in_threadpool(audit_report.render, report)
    name = audit_log.export_name(report.produced_at, "pdf")
    return pdf_attachment(body, name)


def csv_response(request: Request, chunks: Iterator[str]) -> StreamingResponse:
    name = audit_log.export_name(app_of(request).clock.now())
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def exposure_page(request: Request) -> Response:
    report = await call(request, exposure.who_could_have_seen, request.path_params["message_id"])
    return render(request, "exposure.html", {"report": report})


async def file_exposure_page(request: Request) -> Response:
    report = await call(request, exposure.who_could_have_seen_file, request.path_params["file_id"])
    return render(request, "exposure.html", {"report": report})


routes = [
    Route("/audit", audit_page, methods=["GET"]),
    Route("/audit/export.csv", export_page, methods=["GET"]),
    Route("/audit/report.pdf", report_page, methods=["GET"]),
    Route("/messages/{message_id}/exposure", exposure_page, methods=["GET"]),
    Route("/files/{file_id}/exposure", file_exposure_page, methods=["GET"]),
]
