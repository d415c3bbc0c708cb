from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.access import Access
from workspace.models import Organisation, User
from workspace.web import call


def _me(access: Access) -> tuple[User, Organisation]:
    user = access.require_user()
    org = access.session.get(Organisation, user.organisation_id)
    assert org is not None
    return user, org


async def me(request: Request) -> Response:
    user, org = await call(request, _me, channel="api")
    return JSONResponse(
        {**serialize.user(user, org), "role": user.org_role, "totp_enabled": user.totp_enabled}
    )


routes = [Route("/me", me, methods=["GET"])]
