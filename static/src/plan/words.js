// What the plan editor says: field names, hints and the words for stored values.

/** The plan's collaborative text fields (Y.Text under these keys), with label and hint. */
export const TEXT_FIELDS = {
  concerns: ["Concerns", "What the agencies are worried about, and why."],
  seen: ["When the child was seen, and seen alone", "Who saw the child, when, and whether they were seen alone."],
  services: ["Services", "Who is providing what to the child and family."],
  contingency: ["Contingency plan", "What will happen if the plan is not working or things get worse."],
  child_voice: ["What the child said about the plan", "In the child's own words where possible."],
  family_summary: ["Summary for the family", "A short account of the plan in words the family can understand."],
};

/** Where each text field sits: concerns first, outcomes after it, the rest below. */
export const TEXT_BEFORE_OUTCOMES = ["concerns"];
export const TEXT_AFTER_OUTCOMES = ["seen", "services", "contingency", "child_voice", "family_summary"];

export const CATEGORIES = [
  ["neglect", "Neglect"],
  ["physical", "Physical abuse"],
  ["sexual", "Sexual abuse"],
  ["emotional", "Emotional abuse"],
  ["multiple", "Multiple categories"],
];

export const KEY_DATES = [
  ["strategy_discussion", "Strategy discussion"],
  ["initial_conference", "Initial conference"],
  ["first_core_group", "First core group meeting"],
];

export const STATUSES = [
  ["not_started", "Not started"],
  ["in_progress", "In progress"],
  ["done", "Done"],
  ["not_done", "Not done"],
];

export const READ_ONLY = "You can read this plan; only the lead professional and core group members edit it.";

/** The connection line at the top, for someone who may edit and someone who may not. */
export function statusText(state, canEdit) {
  switch (state) {
    case "live": return "Live";
    case "saving": return "Saving…";
    case "saved": return "Saved";
    case "offline": return canEdit
      ? "Offline: your changes will be sent when you reconnect"
      : "Offline: the plan will update when you reconnect";
    case "closed": return "Not connected";
    default: return "Connecting…";
  }
}

/** "Hana Kowalski is editing", "Hana Kowalski and Pete Brown are editing". */
export function editingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return names[0] + " is editing";
  return names.slice(0, -1).join(", ") + " and " + names[names.length - 1] + " are editing";
}
