"""The audit log's actions as a reviewer reads them: each recorded action name with the
words the access log shows and offers in its Action list."""

from __future__ import annotations

ACTION_LABELS: dict[str, str] = {
    # Rooms and what is in them
    "view": "Opened a room",
    "join": "Joined a room live",
    "list_rooms": "Listed rooms",
    "list_members": "Listed a room's members",
    "list_messages": "Read a room's messages",
    "search_messages": "Searched messages",
    "read_room_history": "Read a room's history",
    "read": "Marked a message read",
    "mark_read": "Marked items read",
    "post_message": "Posted a message",
    "message_created": "Posted a message (live)",
    "edit": "Edited a message",
    "retract": "Retracted a message",
    "create_room": "Opened a case room",
    "close": "Closed a room",
    "room_closed": "Room closed",
    "transfer_lead": "Handed over the lead",
    "see_child_identifiers": "Saw the child's identifiers",
    "lookup": "Looked up a child",
    "break_glass_search": "Searched for a child (break-glass)",
    "break_glass": "Opened a room by break-glass",
    # Agency events (issue #14)
    "send_agency_event": "Sent an agency event (partner system)",
    "acknowledge": "Acknowledged an agency alert",
    # Membership
    "add_member": "Added a member",
    "remove_member": "Removed a member",
    "change_role": "Changed a member's role",
    "member_role_changed": "Member's role changed",
    "guest_extended": "Extended a guest's access",
    "guest_shortened": "Shortened a guest's access",
    "invitation": "Invited someone",
    "list_invitations": "Listed invitations",
    "revoke_invitation": "Withdrew an invitation",
    "invitation_accept": "Accepted an invitation",
    "invitation_accepted": "Invitation accepted",
    # Sharing record
    "read_sharing_record": "Read the sharing record",
    "record_sharing_decision": "Recorded a sharing decision",
    "share_item": "Shared an item",
    "item_shared": "Item shared",
    "export_sharing_record": "Exported the sharing record",
    # Files
    "list_files": "Listed files",
    "upload_file": "Uploaded a file",
    "upload_file_content": "Uploaded a file's content",
    "file_created": "File added",
    "file_uploaded": "File uploaded",
    "download_file": "Downloaded a file",
    "verify_file": "Reported a file that failed verification",
    "wrap_key": "Shared a file key",
    "view_keys": "Read people's public keys",
    "view_own_keys": "Read own keys",
    "keys_changed": "Changed own keys",
    "keys_published": "Published keys",
    # Plans
    "view_plan": "Opened the plan",
    "read_plan": "Read the plan",
    "edit_plan": "Edited the plan",
    "publish_plan": "Signed off a plan version",
    "list_plan_versions": "Listed plan versions",
    "view_plan_version": "Opened a plan version",
    "export_plan": "Exported the plan",
    "plan_awareness": "Plan reminder",
    # Notices and mail
    "list_notices": "Listed notices",
    "open_notice": "Opened a notice",
    "notices_read": "Marked notices read",
    "list_recipients": "Listed mail recipients",
    "digest_sent": "Digest sent",
    "unsubscribe": "Unsubscribed from email",
    "email_preferences_changed": "Changed email preferences",
    "manage_mail": "Managed undelivered mail",
    "release_mail": "Released held mail",
    # Accounts and signing in
    "login": "Signed in",
    "login_second_factor": "Entered a second factor",
    "logout": "Signed out",
    "account_locked": "Account locked",
    "password_changed": "Changed password",
    "totp_enrol": "Set up a second factor",
    "second_factor_reset": "Second factor reset",
    "token_created": "Created an API token",
    "token_revoked": "Revoked an API token",
    "manage_accounts": "Managed accounts",
    "user_created": "Account created",
    "organisation_created": "Organisation created",
    "socket_connect": "Live connection refused",
    "socket_closed": "Live connection closed",
    "sync": "Synchronised the plan live",
    # Oversight
    "list_audit": "Read the access log",
    "export_audit": "Exported the access log",
    "review_audit": "Verified the access log",
    "review_access": "Reviewed access",
    "review_exposure": "Asked who could have seen an item",
}

CHANNELS: dict[str, str] = {
    "web": "Web page",
    "api": "API",
    "socket": "Live connection",
    "email": "Email",
    "cli": "Command line",
}


def action_label(action: str) -> str:
    """The words for an action; one not listed (recorded before it was named) as itself."""
    return ACTION_LABELS.get(action) or action.replace("_", " ")
