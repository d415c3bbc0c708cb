# Caseroom need-to-know policy.
#
# This file is the single source of who may see and do what (DESIGN.md §3).
# It is written to be read by an information-governance lead: each rule below
# quotes the principle it enforces. Anything not allowed here is denied.
#
# The facts it reasons about (policy/subjects.py):
#   User        - the signed-in person: organisation, organisation kind, team,
#                 role in their organisation, their room memberships.
#   Room        - a child's case room: status (open/closed) and its lead professional.
#   Item        - anything in a room with a sensitivity: a Message or a File
#                 (an end-to-end encrypted file: its author is the uploader).
#                 Author, author's organisation, sensitivity, when it was created.
#   PlanVersion - a version of a room's plan the lead published: when it was signed
#                 off, and when the next one replaced it.
#   AuditEvent  - one line of the access log.

actor User {}

allow(user: User, action: String, resource) if
  has_permission(user, action, resource);


# ---------------------------------------------------------------------------
# Rule 1 and 5. Membership.
# A membership counts while it is neither revoked nor past its expiry.
# Administrators manage accounts and see no case data (rule 9), and a partner
# system's integration account only sends agency events (issue #14), so no
# membership of theirs ever counts.
# ---------------------------------------------------------------------------

may_hold_membership(user: User) if
  user.org_role != "admin" and
  user.org_role != "integration";

active_membership(user: User, room: Room, role: String) if
  may_hold_membership(user) and
  m in user.memberships_in(room.id) and
  m.role = role and
  m.revoked = false and
  not_expired(user, m);

not_expired(_user: User, m: Membership) if m.expires_ts = nil;
not_expired(user: User, m: Membership) if
  m.expires_ts != nil and m.expires_ts > user.now_ts;

# Rule 6: guests lose access when a room closes; members keep read-only access.
has_role(user: User, "lead", room: Room) if active_membership(user, room, "lead");
has_role(user: User, "member", room: Room) if active_membership(user, room, "member");
has_role(user: User, "guest", room: Room) if
  room.status = "open" and
  active_membership(user, room, "guest");


resource Room {
  permissions = [
    "view", "list_members", "list_messages", "see_child_identifiers",
    "post_message", "upload_file", "read_plan", "edit_plan", "publish_plan",
    "add_member", "remove_member", "change_role", "transfer_lead", "close",
    "share_item", "record_sharing_decision", "read_sharing_record", "become_lead",
    "read_room_history", "mark_read", "join", "review_access", "oversee",
    "read_chronology", "add_to_chronology", "subject_access"
  ];
  roles = ["guest", "member", "lead"];

  # The lead professional is a member with extra duties.
  "member" if "lead";

  # Rule 1: every active member, and every guest, sees the room and who is in it.
  "view" if "member";
  "view" if "guest";
  "list_members" if "view";
  "list_messages" if "view";

  # Rule 3: guests see the child's name and age, never date of birth, NHS number
  # or address.
  "see_child_identifiers" if "member";

  # Golden rule 7: the room's record of sharing decisions (who, what, with whom, why,
  # lawful basis, consent) is read by the lead and members, also once the room is closed.
  "read_sharing_record" if "member";

  # Read receipts ("seen by") are for the people in the room: lead, members, guests.
  # Someone reading by break-glass leaves no mark (rule 8: read-only).
  "mark_read" if "member";
  "mark_read" if "guest";

  # Issue #5: who was added, removed, made a guest or lead, and when the room closed —
  # the room's history, for the lead and members (the access log holds the rest).
  "read_room_history" if "member";

  # Issue #11: a plan is shared with the whole core group; nothing in it is restricted to
  # one organisation. Everyone who sees the room reads the draft (guests too: which
  # published versions they read is rule 3, below).
  "read_plan" if "view";

  # Issue #15: the child's chronology is read by everyone who sees the room, each seeing
  # the entries the item rules let them see (a guest's starts when they joined).
  "read_chronology" if "view";
}

# Issue #15: members mark what is significant, in an open room.
has_permission(user: User, "add_to_chronology", room: Room) if
  room.status = "open" and has_role(user, "member", room);

# Rule 4 and 6: writing needs an open room. Lead, members and guests post;
# lead and members edit the plan; only the lead signs a plan version off.
has_permission(user: User, "post_message", room: Room) if
  room.status = "open" and
  (has_role(user, "member", room) or has_role(user, "guest", room));

# Files are shared like messages are posted (rule 4: "Lead, members and guests may post
# messages and share files").
has_permission(user: User, "upload_file", room: Room) if
  room.status = "open" and
  (has_role(user, "member", room) or has_role(user, "guest", room));

has_permission(user: User, "edit_plan", room: Room) if
  room.status = "open" and has_role(user, "member", room);

has_permission(user: User, "publish_plan", room: Room) if
  room.status = "open" and has_role(user, "lead", room);

# Rule 5: only the lead invites, changes roles, removes members, transfers the
# lead role and closes the room.
has_permission(user: User, action: String, room: Room) if
  action in ["add_member", "remove_member", "change_role", "transfer_lead", "close"] and
  room.status = "open" and
  has_role(user, "lead", room);

# Rule 3: only the lead shares an earlier item with a guest or a newer member (each
# share is a recorded sharing decision).
has_permission(user: User, "share_item", room: Room) if
  room.status = "open" and has_role(user, "lead", room);

# Golden rule 7: "record the decision, whether to share or not". Any member of an open
# room may record a decision not to share.
has_permission(user: User, "record_sharing_decision", room: Room) if
  room.status = "open" and has_role(user, "member", room);

# Who may be handed the lead role: a local-authority member of an open room (the lead
# professional is a social worker). The current lead qualifies too.
has_permission(user: User, "become_lead", room: Room) if
  room.status = "open" and
  user.org_kind = "local_authority" and
  has_role(user, "member", room);

# Who may be made a member at all: anyone but an administrator (rule 9) or an
# integration account (issue #14).
has_permission(user: User, "join", _room: Room) if
  may_hold_membership(user);


# ---------------------------------------------------------------------------
# Rule 8. Break-glass: a practitioner or manager of a safeguarding partner who
# found the room by an exact child identifier and gave a reason may read it for
# a limited time. Read-only; items restricted to an organisation stay closed.
# ---------------------------------------------------------------------------

safeguarding_partner(user: User) if
  user.org_kind in ["local_authority", "police", "health"] and
  user.org_role in ["practitioner", "manager"];

may_break_glass(user: User) if safeguarding_partner(user);

# A guest of the room gets no more by breaking the glass: rule 3 still limits what
# they see (the lead shares what they need).
break_glass(user: User, room: Room) if
  safeguarding_partner(user) and
  not has_role(user, "guest", room) and
  g in user.break_glass and
  g.room_id = room.id and
  g.expires_ts > user.now_ts;

has_permission(user: User, action: String, room: Room) if
  action in ["view", "list_members", "list_messages", "see_child_identifiers", "read_plan",
             "read_chronology"] and
  break_glass(user, room);


# ---------------------------------------------------------------------------
# Rule 2 and 3. Items in a room: messages and files, by the same rules.
# "room" items: everyone who can view the room.
# "restricted" items: only the author's organisation and the lead professional.
# Guests see items created after they joined, or items shared with them by a
# recorded sharing decision.
# ---------------------------------------------------------------------------

resource Item {
  permissions = ["read"];
}

resource Message {
  permissions = ["read", "edit", "retract"];
}

resource File {
  permissions = ["read", "wrap_key"];
}

# Issue #15: an entry of the child's chronology is an item too (the rules below): read
# by whoever may read an item of its room, sensitivity, agency and time.
resource ChronologyEntry {
  permissions = ["read"];
}

sensitivity_allows(_user: User, msg: Item) if
  msg.sensitivity = "room";
sensitivity_allows(user: User, msg: Item) if
  msg.sensitivity = "restricted" and
  msg.author_org_id = user.org_id;
sensitivity_allows(user: User, msg: Item) if
  msg.sensitivity = "restricted" and
  has_role(user, "lead", msg.room);

# "Guests see only items created after they joined": joined under the invitation
# that is current now. An earlier invitation that has ended does not count, or a
# guest invited again would see what was written while they had no access.
guest_may_see(user: User, msg: Item) if
  m in user.memberships_in(msg.room.id) and
  m.role = "guest" and
  m.revoked = false and
  not_expired(user, m) and
  msg.created_ts >= m.joined_ts;
guest_may_see(user: User, msg: Item) if
  msg.id in user.shared_item_ids;

has_permission(user: User, "read", msg: Item) if
  has_role(user, "member", msg.room) and
  sensitivity_allows(user, msg);

has_permission(user: User, "read", msg: Item) if
  has_role(user, "guest", msg.room) and
  sensitivity_allows(user, msg) and
  guest_may_see(user, msg);

has_permission(user: User, "read", msg: Item) if
  break_glass(user, msg.room) and
  msg.sensitivity = "room";

# Rule 4: authors edit and retract their own messages while they may still post.
has_permission(user: User, action: String, msg: Message) if
  action in ["edit", "retract"] and
  msg.author_id = user.id and
  has_permission(user, "post_message", msg.room) and
  has_permission(user, "read", msg);


# Issue #10: a file's key is wrapped for more people (sealed to their public keys) by
# someone who holds it — who may read the file — while they may still share files in
# the room. Whom it may be wrapped for is the read rule above, asked of the recipient;
# a guest or newer member the lead shares an earlier file with needs "share_item" and
# a recorded sharing decision, as for messages.
has_permission(user: User, "wrap_key", file: File) if
  has_permission(user, "upload_file", file.room) and
  has_permission(user, "read", file);


# ---------------------------------------------------------------------------
# Issue #11. Published versions of the plan, read as items are (rule 3).
# The lead, members and break-glass readers read every version. A guest reads
# the version that was the agreed plan when they joined and every later one;
# an earlier one only if the lead shared it with them (a recorded sharing
# decision), as with messages.
# ---------------------------------------------------------------------------

resource PlanVersion {
  permissions = ["read"];
}

# Still the agreed plan when the guest joined: not replaced at all, or replaced later.
# (Two rules, not one with `or`: listing a guest's actions tries both branches of an
# `or`, and `nil > joined_ts` is an error in Polar.)
guest_may_see_version(user: User, version: PlanVersion) if
  version.superseded_ts = nil and
  m in user.memberships_in(version.room.id) and
  m.role = "guest" and
  m.revoked = false and
  not_expired(user, m);
guest_may_see_version(user: User, version: PlanVersion) if
  version.superseded_ts != nil and
  m in user.memberships_in(version.room.id) and
  m.role = "guest" and
  m.revoked = false and
  not_expired(user, m) and
  version.superseded_ts > m.joined_ts;
guest_may_see_version(user: User, version: PlanVersion) if
  version.id in user.shared_item_ids;

has_permission(user: User, "read", version: PlanVersion) if
  has_role(user, "member", version.room);

has_permission(user: User, "read", version: PlanVersion) if
  has_role(user, "guest", version.room) and
  guest_may_see_version(user, version);

has_permission(user: User, "read", version: PlanVersion) if
  break_glass(user, version.room);


# ---------------------------------------------------------------------------
# Rule 7. The access log.
# A team manager reads events whose actor is in their team, and events about
# rooms led by their team. An IG lead does the same for their organisation.
# A lead professional sees the events about their room.
# Reading the log never grants reading the case itself.
# ---------------------------------------------------------------------------

resource AuditEvent {
  permissions = ["read"];
}

has_permission(user: User, "read", event: AuditEvent) if
  user.org_role = "manager" and
  event.actor_team_id != nil and
  event.actor_team_id in user.managed_team_ids;
has_permission(user: User, "read", event: AuditEvent) if
  user.org_role = "manager" and
  event.room_lead_team_id != nil and
  event.room_lead_team_id in user.managed_team_ids;
has_permission(user: User, "read", event: AuditEvent) if
  user.org_role = "ig_lead" and
  event.actor_org_id = user.org_id;
has_permission(user: User, "read", event: AuditEvent) if
  user.org_role = "ig_lead" and
  event.room_lead_org_id = user.org_id;
# "A lead professional sees who viewed their room." An administrator recorded as
# lead is no lead professional: "Admins ... see no case data" (rule 9).
has_permission(user: User, "read", event: AuditEvent) if
  user.org_role != "admin" and
  event.room_lead_user_id = user.id;


# "Who could have seen this item?" is answered, without its content, for the
# people who read the room's access log: the lead professional, the manager of
# the lead's team and the IG lead of the lead's organisation.
has_permission(user: User, "review_access", room: Room) if
  user.org_role != "admin" and
  room.lead_user_id = user.id;
has_permission(user: User, "review_access", room: Room) if
  user.org_role = "manager" and
  room.lead_team_id != nil and
  room.lead_team_id in user.managed_team_ids;
has_permission(user: User, "review_access", room: Room) if
  user.org_role = "ig_lead" and
  room.lead_org_id = user.org_id;


# Issue #15: subject access (UK GDPR Art 15). The IG lead of the organisation that
# leads the room answers a request for the child's record: they produce the whole
# record (the chronology and every item, restricted ones too) as one document for
# redaction. The one exception to "IG leads do not read case content": each document
# produced is recorded with the request's reference.
has_permission(user: User, "subject_access", room: Room) if
  user.org_role = "ig_lead" and
  room.lead_org_id = user.org_id;


# Issue #12: supervision. A team manager oversees the rooms led by the practitioners
# of the teams they manage; an IG lead the rooms led by their organisation's people.
# Overseeing shows that the room exists, who leads it and how it is going (dates and
# counts), never what is in it: "Managers and IG leads do not read case content unless
# they are members" (rule 7). Nothing else in this file is granted by "oversee".
has_permission(user: User, "oversee", room: Room) if
  user.org_role = "manager" and
  room.lead_team_id != nil and
  room.lead_team_id in user.managed_team_ids;
has_permission(user: User, "oversee", room: Room) if
  user.org_role = "ig_lead" and
  room.lead_org_id = user.org_id;


# ---------------------------------------------------------------------------
# The workspace itself.
# Case rooms are opened by practitioners and managers of the statutory
# safeguarding partners (local authority, police, health).
# Team managers and IG leads have an access-log page, and a list of the rooms
# they oversee (issue #12).
# Administrators look after email that could not be delivered (rule 9, below).
# ---------------------------------------------------------------------------

resource Caseroom {
  permissions = [
    "create_room", "review_audit", "break_glass_search", "manage_mail", "manage_accounts",
    "add_account", "oversee_rooms", "send_agency_event", "raise_concern", "triage"
  ];
}

has_permission(user: User, "create_room", _: Caseroom) if
  safeguarding_partner(user);

has_permission(user: User, "review_audit", _: Caseroom) if
  user.org_role in ["manager", "ig_lead"];

has_permission(user: User, "oversee_rooms", _: Caseroom) if
  user.org_role in ["manager", "ig_lead"];

has_permission(user: User, "break_glass_search", _: Caseroom) if
  may_break_glass(user);


# ---------------------------------------------------------------------------
# Rule 9. Administrators manage the accounts of their own organisation.
# ---------------------------------------------------------------------------

resource Account {
  permissions = [
    "manage", "disable_account", "enable_account", "reset_second_factor", "unlock_account",
    "change_role", "change_team", "send_password_link"
  ];
}

has_permission(user: User, "manage", account: Account) if
  user.org_role = "admin" and
  account.org_id = user.org_id;

# The administrators' page lists the accounts they manage (the rule above).
has_permission(user: User, "manage_accounts", _: Caseroom) if
  user.org_role = "admin";

# Disabling an account, or resetting its second factor (a lost phone), ends every
# sign-in of it. An administrator does either only to someone else: not to themselves,
# which would lock them out of the page that undoes it, or let them drop their own
# second factor. Enabling is looking after an account like any other.
has_permission(user: User, "disable_account", account: Account) if
  has_permission(user, "manage", account) and
  account.id != user.id;

has_permission(user: User, "reset_second_factor", account: Account) if
  has_permission(user, "manage", account) and
  account.id != user.id;

has_permission(user: User, "enable_account", account: Account) if
  has_permission(user, "manage", account);

# Repeated wrong passwords lock an account for a while; its administrator may lift that
# early (the person rang to say it was them), like enabling it.
has_permission(user: User, "unlock_account", account: Account) if
  has_permission(user, "manage", account);

# Adding an account: to the administrator's own organisation (the only one they manage),
# with one of the roles below.
has_permission(user: User, "add_account", _: Caseroom) if
  user.org_role = "admin";

# The roles an administrator gives and takes away. An administrator's or an integration
# account's role is set from the command line by whoever runs the deployment: no
# administrator makes another (who would see every account), nor turns a partner
# system's account into a person's.
grantable_role("practitioner");
grantable_role("manager");
grantable_role("ig_lead");

# Nobody changes their own role: an administrator who could would make themselves an IG
# lead and read their organisation's access log. An account that holds an administrator's
# or an integration role keeps it (the rule above).
has_permission(user: User, "change_role", account: Account) if
  has_permission(user, "manage", account) and
  account.id != user.id and
  grantable_role(account.role);

# A person's team decides whose access log their manager reviews (rule 7) and whether
# they triage at the front door; moving people between teams is looking after accounts.
has_permission(user: User, "change_team", account: Account) if
  has_permission(user, "manage", account) and
  account.role != "integration";

# A forgotten password: a one-time link to set a new one goes to the account's own email
# (the administrator never sees it). Not to oneself (the account page changes one's own
# password), nor to an integration account (it signs in with API tokens only).
has_permission(user: User, "send_password_link", account: Account) if
  has_permission(user, "manage", account) and
  account.id != user.id and
  account.role != "integration";

# Looking after an account includes the email that could not be delivered to it
# ("dead": refused, or still failing after 72 hours; "uncertain": it may have
# arrived) and sending it again. Email carries no case data, and an administrator
# sees only who it was for, its state and the error, never its subject or text.
# Which emails: those to accounts the administrator manages (the rule above).
has_permission(user: User, "manage_mail", _: Caseroom) if
  user.org_role = "admin";


# ---------------------------------------------------------------------------
# Issue #14. Agency events: what a partner system (police, an emergency
# department) tells us about a child, sent with the API token of its
# organisation's integration account. That account reads nothing: it never
# holds a membership (rule 1 above), so no rule here gives it a room, an item
# or the access log. Sending answers only whether the child has an open room
# and who leads it (as NHS CP-IS tells a clinician "this child is on a plan").
# A matched event is an item of the room, written by the sending organisation:
# rules 2 and 3 decide who reads it, like any message.
# ---------------------------------------------------------------------------

has_permission(user: User, "send_agency_event", _: Caseroom) if
  user.org_role = "integration";

resource AgencyEvent {
  permissions = ["be_told", "acknowledge"];
}

# The lead professional is told at once of every event they may read.
has_permission(user: User, "be_told", event: AgencyEvent) if
  has_role(user, "lead", event.item.room) and
  has_permission(user, "read", event.item);

# Operation Encompass: the police tell the child's school of a domestic abuse
# incident before the next school day starts. The school is in the room through
# its designated safeguarding lead: a member or guest from an education
# organisation who may read the event.
has_permission(user: User, "be_told", event: AgencyEvent) if
  event.event_type = "domestic_abuse_incident" and
  user.org_kind = "education" and
  has_permission(user, "read", event.item);

# Whoever is told acknowledges it; the acknowledgement is recorded.
has_permission(user: User, "acknowledge", event: AgencyEvent) if
  has_permission(user, "be_told", event);


# ---------------------------------------------------------------------------
# Issue #14. Raising a concern, and the local authority's front door (MASH).
# Any practitioner or manager of a partner organisation may raise a concern
# about a child. What matches no room they are in goes to the front door: the
# team their local authority set up to triage (practitioners and managers of
# it). Triagers read and decide the contacts of their own authority; a
# contact stays readable to them after it is decided (the record of it).
# ---------------------------------------------------------------------------

has_permission(user: User, "raise_concern", _: Caseroom) if
  user.org_role in ["practitioner", "manager"];

front_door(user: User) if
  user.front_door = true and
  user.org_kind = "local_authority" and
  user.org_role in ["practitioner", "manager"];

has_permission(user: User, "triage", _: Caseroom) if
  front_door(user);

resource Contact {
  permissions = ["read", "decide", "add_photo"];
}

has_permission(user: User, "read", contact: Contact) if
  front_door(user) and
  contact.org_id = user.org_id;

has_permission(user: User, "decide", contact: Contact) if
  has_permission(user, "read", contact) and
  contact.status = "waiting";

# Photos on a concern, end-to-end encrypted in the reporter's browser. The reporter
# adds them to the concern they raised, just after sending it: while it waits at
# the front door, or once it went straight to the child's room. A photo follows
# its concern: read at the front door by whoever reads the concern there, and,
# once the concern is an item of a room, by whoever may read that item. Its key
# is wrapped for more readers by someone who holds it and may read it.
has_permission(user: User, "add_photo", contact: Contact) if
  contact.reporter_id = user.id and
  contact.status in ["waiting", "in_room"];

resource ContactPhoto {
  permissions = ["read", "wrap_key"];
}

has_permission(user: User, "read", photo: ContactPhoto) if
  has_permission(user, "read", photo.contact);

has_permission(user: User, "read", photo: ContactPhoto) if
  has_permission(user, "read", photo.item);

has_permission(user: User, "wrap_key", photo: ContactPhoto) if
  has_permission(user, "read", photo);

# Whom a holder is offered to pass a photo's key to (each must also be able to read
# it): only people the holder may know of. At the front door, its own team; once
# the concern is in a room, that room's lead (whom the duplicate check names to
# anyone). In the room, its people.
resource PhotoOffer {
  permissions = ["make"];
}

has_permission(user: User, "make", offer: PhotoOffer) if
  has_permission(user, "wrap_key", offer.photo) and
  has_permission(user, "read", offer.photo.contact) and
  offer.recipient_org_id = offer.photo.contact.org_id;

has_permission(user: User, "make", offer: PhotoOffer) if
  offer.in_room and
  has_permission(user, "wrap_key", offer.photo) and
  offer.recipient_id = offer.photo.item.room.lead_user_id;

has_permission(user: User, "make", offer: PhotoOffer) if
  offer.in_room and
  has_permission(user, "wrap_key", offer.photo) and
  has_permission(user, "view", offer.photo.item.room);
