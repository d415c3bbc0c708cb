"""A room's plan over socket.io (issue #11, DESIGN.md §8): Yjs sync and updates, and
awareness, on the page's existing connection.

Every message of y-protocols is sent whole, with its first byte: a sync message is
[0, type, payload] exactly as pycrdt's `create_sync_message` / `create_update_message`
and y-websocket frame them (type 0 step 1, 1 step 2, 2 update); an awareness message is
relayed as it came. Bytes travel as socket.io binary attachments.

- `plan:join {room_id}` -> `{ok, can_edit}`; then the server sends that socket
  `plan:sync {room_id, message}`: its sync step 1 (its state vector).
- `plan:sync {room_id, message}`: a step 1 is answered `{ok, message}` (the step 2); a
  step 2 is an update (below).
- `plan:update {room_id, message}` -> `{ok: true}` once the update is committed, after
  which it goes to every other socket joined to the plan (`plan:update`, like the changes
  the JSON API makes). From someone who may not edit: `{ok: false, error}`, audited, not
  applied (a read-only client's step 2 that carries nothing new is ignored, `{ok: true}`).
- `plan:awareness {room_id, message}`: relayed to the others joined to the plan, never
  stored; only from a socket joined to it.
- Server -> client besides: `plan:access {room_id, can_edit}` when the socket's right to
  edit changes (the room closed), `member_removed {room_id, reason}` when it may no longer
  read the plan (it has left the plan's channel), `plan:published {room_id, version,
  signed_by, signed_at}`.

Each event is decided by the policy (workspace/access.py) in a unit of work, like the
room's events: a plan's edits are audited once per editing session (a socket's
plan:join until it leaves), its views at join, every refusal always.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pycrdt import read_message
from pydantic import Field

from realtime.payloads import payload, recheck_at
from realtime.registry import PlanSession, SocketInfo
from workspace import audience
from workspace.access import Access
from workspace.errors import BadRequest, CaseroomError, Invalid
from workspace.schemas import Strict
from workspace.services.plans import editing, reading

if TYPE_CHECKING:
    from realtime.server import Realtime

# The largest y-protocols message accepted: an editor's step 2 after a long time offline,
# or a long paste (a whole plan of long text fields is a few tens of KB).
PLAN_MESSAGE_MAX = 256 * 1024
# What the transport must let through for it: binary goes base64 over long-polling.
BUFFER_FOR_PLANS = PLAN_MESSAGE_MAX * 4 // 3 + 16 * 1024


class PlanRef(Strict):
    room_id: str = Field(max_length=36)


class PlanMessage(Strict):
    room_id: str = Field(max_length=36)
    message: bytes = Field(max_length=PLAN_MESSAGE_MAX)


def _failed(error: dict[str, Any]) -> dict[str, Any]:
    return {"ok": False, **error}


def _update_of(message: bytes) -> bytes:
    try:
        return read_message(message[2:])
    except (AssertionError, IndexError, RuntimeError) as exc:
        raise Invalid("The update could not be read.", fields={"message": "malformed"}) from exc


class PlanEvents:
    def __init__(self, realtime: Realtime) -> None:
        self.rt = realtime
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self) -> None:
        sio = self.rt.sio
        sio.on("plan:join", self.on_join)
        sio.on("plan:sync", self.on_sync)
        sio.on("plan:update", self.on_update)
        sio.on("plan:awareness", self.on_awareness)

    async def _refuse(self, sid: str, exc: CaseroomError) -> dict[str, Any]:
        return _failed(await self.rt._refuse(sid, exc))

    # --- join ------------------------------------------------------------------------

    async def on_join(self, sid: str, data: Any = None, *_more: Any) -> dict[str, Any]:
        try:
            ref = payload(PlanRef, data, "plan:join")
        except Invalid as exc:
            return await self._refuse(sid, exc)

        def join(access: Access) -> tuple[reading.Joined, float | None]:
            return reading.join(access, ref.room_id), recheck_at(access, ref.room_id)

        result, error = await self.rt._run(sid, join)
        info = self.rt.registry.get(sid)
        if error or result is None or info is None:
            return _failed(error or {"error": {"code": "not_found", "message": "Not found."}})
        joined, recheck = result
        info.plans[ref.room_id] = PlanSession(joined.can_edit, recheck)
        await self.rt.sio.enter_room(sid, audience.plan_channel(ref.room_id))
        # The step 1 follows the answer: the handler returns first (its answer is queued
        # before this task runs), so the client knows whether it may edit when it syncs.
        task = asyncio.create_task(self._send_step1(sid, ref.room_id, joined.sync_step1))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"ok": True, "can_edit": joined.can_edit}

    async def _send_step1(self, sid: str, room_id: str, message: bytes) -> None:
        await self.rt.sio.emit("plan:sync", {"room_id": room_id, "message": message}, to=sid)

    # --- sync and updates --------------------------------------------------------------

    async def on_sync(self, sid: str, data: Any = None, *_more: Any) -> dict[str, Any]:
        try:
            incoming = _payload_message(data, "plan:sync")
            kind = reading.sync_kind(incoming.message, "plan:sync")
        except Invalid as exc:
            return await self._refuse(sid, exc)
        if kind != reading.SYNC_STEP1:
            return await self._receive(sid, incoming)
        info = self.rt.registry.get(sid)
        in_session = info is not None and incoming.room_id in info.plans
        reply, error = await self.rt._run(
            sid, lambda access: reading.sync_step2(
                access, incoming.room_id, incoming.message, in_session=in_session
            ), rooms=(incoming.room_id,),
        )  # fmt: skip
        if error or reply is None:
            return _failed(error or {"error": {"code": "not_found", "message": "Not found."}})
        return {"ok": True, "message": reply}

    async def on_update(self, sid: str, data: Any = None, *_more: Any) -> dict[str, Any]:
        try:
            incoming = _payload_message(data, "plan:update")
            kind = reading.sync_kind(incoming.message, "plan:update")
            if kind == reading.SYNC_STEP1:
                raise Invalid(
                    "`plan:update` carries an update ([0, 2, update]); a sync step 1 goes "
                    "as `plan:sync`.",
                    fields={"message": "a sync step 1"},
                )
        except Invalid as exc:
            return await self._refuse(sid, exc)
        return await self._receive(sid, incoming)

    async def _receive(self, sid: str, incoming: PlanMessage) -> dict[str, Any]:
        try:
            update = _update_of(incoming.message)
        except Invalid as exc:
            return await self._refuse(sid, exc)
        info = self.rt.registry.get(sid)
        session = info.plans.get(incoming.room_id) if info else None
        recorded = session is not None and session.edit_recorded
        # Claimed before the unit runs, so two updates of one session racing each other
        # are not both recorded; given back if this one is not applied.
        if session is not None:
            session.edit_recorded = True
        received, error = await self.rt._run(
            sid, lambda access: editing.receive_update(
                access, incoming.room_id, update, session_recorded=recorded, skip_sid=sid
            ),
            active=True, rooms=(incoming.room_id,),
        )  # fmt: skip
        if session is not None and not recorded and (error or not received or not received.applied):
            session.edit_recorded = False
        if error:
            return _failed(error)
        return {"ok": True}

    # --- awareness ---------------------------------------------------------------------

    async def on_awareness(self, sid: str, data: Any = None, *_more: Any) -> dict[str, Any]:
        """Relayed, never stored, not audited one by one (cursors move all the time): the
        socket's view of the plan was decided and audited at `plan:join`, and is decided
        again whenever access changes. From a socket not joined to the plan: refused (a
        room it may not read, audited like any other attempt)."""
        try:
            incoming = _payload_message(data, "plan:awareness")
        except Invalid as exc:
            return await self._refuse(sid, exc)
        info = self.rt.registry.get(sid)
        if info is None or incoming.room_id not in info.plans:

            def not_joined(access: Access) -> None:
                access.room_in_session(incoming.room_id, "read_plan", audit_as="plan_awareness")
                raise BadRequest("Join the plan first (`plan:join`).", code="not_joined")

            _, error = await self.rt._run(sid, not_joined)
            return _failed(error or {})
        await self.rt.sio.emit(
            "plan:awareness",
            {"room_id": incoming.room_id, "message": incoming.message},
            to=audience.plan_channel(incoming.room_id), skip_sid=sid,
        )  # fmt: skip
        return {"ok": True}

    # --- access changed ----------------------------------------------------------------

    async def reevaluate(
        self,
        info: SocketInfo,
        room_id: str,
        access_now: tuple[bool, bool],
        recheck: float | None,
        reason: str,
        *,
        told: bool,
    ) -> None:
        """After the policy was asked again (a removal, an expiry, the room closing): a
        socket that may no longer read the plan leaves its channel at once (and hears
        `member_removed`, unless `told` already); one whose right to edit changed hears
        `plan:access`."""
        session = info.plans.get(room_id)
        if session is None:
            return
        may_read, may_edit = access_now
        if not may_read:
            del info.plans[room_id]
            await self.rt.sio.leave_room(info.sid, audience.plan_channel(room_id))
            if not told:
                await self.rt.sio.emit(
                    "member_removed", {"room_id": room_id, "reason": reason}, to=info.sid
                )
            return
        session.recheck_at = recheck
        if may_edit != session.can_edit:
            session.can_edit = may_edit
            await self.rt.sio.emit(
                "plan:access", {"room_id": room_id, "can_edit": may_edit}, to=info.sid
            )


def _payload_message(data: Any, event: str) -> PlanMessage:
    return payload(PlanMessage, data, event)
