"""In-app notifications: what the bell in the header counts and /notifications lists.

Written by workspace/services/notifications.py beside (or instead of) an email, in the
caller's unit of work, and pushed to the person's open pages once that commits. A notice
is the person's own, content-free like the emails (a room reference, a name, a link): the
link is authorised and audited when it is followed, like any other page.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, func, select

from workspace.access import Access, Target
from workspace.events import NoticeAdded
from workspace.models import Notice

PAGE = 50


def add(
    access: Access, user_id: str, *, kind: str, text: str, link: str, room_id: str | None
) -> Notice:
    notice = Notice(
        user_id=user_id, kind=kind, room_id=room_id, text=text[:400], link=link[:300],
        created_at=access.now,
    )  # fmt: skip
    access.session.add(notice)
    access.session.flush()
    access.emit(NoticeAdded(user_id, notice.id, notice.text, notice.link))
    return notice


def unread_count(access: Access) -> int:
    user = access.require_user()
    return int(
        access.session.exec(
            select(func.count())
            .select_from(Notice)
            .where(col(Notice.user_id) == user.id, col(Notice.read_at).is_(None))
        ).one()
    )


def list_notices(access: Access, *, limit: int = PAGE) -> list[Notice]:
    """The caller's newest notices (an audited view, like every list)."""
    user = access.require_user()
    rows = access.session.exec(
        select(Notice)
        .where(col(Notice.user_id) == user.id)
        .order_by(col(Notice.created_at).desc(), col(Notice.id).desc())
        .limit(limit)
    ).all()
    access.record("list_notices", Target("notice"))
    return list(rows)


def open_notice(access: Access, notice_id: str) -> str:
    """Mark one of the caller's notices read; where it points. Someone else's is not found."""
    user = access.require_user()
    notice = access.session.get(Notice, notice_id)
    if notice is None or notice.user_id != user.id:
        access.deny("open_notice", Target("notice", notice_id), conceal=True)
        raise AssertionError("unreachable")
    if notice.read_at is None:
        notice.read_at = access.now
        access.session.add(notice)
    access.record("open_notice", Target("notice", notice.id, notice.room_id))
    return notice.link


def mark_all_read(access: Access) -> int:
    user = access.require_user()
    moved = access.session.exec(  # type: ignore[call-overload]
        update(Notice)
        .where(col(Notice.user_id) == user.id, col(Notice.read_at).is_(None))
        .values(read_at=access.now)
    )
    access.record("notices_read", Target("notice"))
    return int(moved.rowcount or 0)
