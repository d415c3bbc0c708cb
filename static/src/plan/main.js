// Entry point of static/build/caseroom-plan.js: the co-edited plan on the plan page.
//
// The page gives <div id="plan-editor" data-room-id data-me data-can-edit="yes|no"
// data-plan-type> and, for anyone without JavaScript, a read-only rendering of the draft in
// #plan-readonly. Once the live copy has synced, the form (built from the Y document) takes
// its place; the rendering stays underneath, hidden, until then.
import { api } from "../api.js";
import { el } from "./dom.js";
import { PlanForm } from "./form.js";
import { PlanSession } from "./session.js";
import { READ_ONLY, statusText } from "./words.js";

function ready(fn) {
  if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
}

/** The room's people as the owner lists need them, from GET /rooms/{id}/members. */
function people(page) {
  const items = page && Array.isArray(page.items) ? page.items : [];
  return items.map((m) => m && m.user).filter((u) => u && typeof u.id === "string" && typeof u.name === "string").map((u) => ({
    id: u.id,
    name: u.name,
    organisation: u.organisation && typeof u.organisation.name === "string" ? u.organisation.name : "",
  }));
}

function start(mount) {
  const roomId = mount.dataset.roomId;
  const me = mount.dataset.me || "";
  const mayEdit = mount.dataset.canEdit === "yes";
  const planType = mount.dataset.planType || "";
  const rendered = document.getElementById("plan-readonly");

  const status = el("p", { id: "plan-status", className: "plan-status", role: "status" }, "Connecting…");
  status.dataset.state = "connecting";
  const problemTitle = el("h2", { id: "plan-error-title" });
  const problemText = el("p", { id: "plan-error-text" });
  const problem = el("div", { id: "plan-error", className: "error-summary", role: "alert", hidden: true }, problemTitle, problemText);
  const note = el("p", { id: "plan-readonly-note", className: "plan-note", hidden: mayEdit }, READ_ONLY);
  const holder = el("div", { className: "plan-holder" });
  // Above whatever the page rendered inside the mount (the read-only view, until synced).
  const first = mount.firstChild;
  [status, problem, note].forEach((node) => mount.insertBefore(node, first));
  mount.appendChild(holder);

  let members = null; // until GET /members answers
  let form = null;

  function showProblem(title, text) {
    problemTitle.textContent = title;
    problemText.textContent = text;
    problem.hidden = false;
  }

  // "Saving…" only once a change has waited a moment: the line is a live region, and
  // flicking between "Saving…" and "Saved" at every key would be read out at every key.
  const SAVING_AFTER_MS = 1000;
  let savingTimer = null;
  let savingLate = false; // a change has waited longer than that
  function showStatus() {
    const state = session.state();
    if (state === "saving") {
      const shown = status.dataset.state;
      if ((shown === "live" || shown === "saved") && !savingLate) {
        if (!savingTimer) savingTimer = setTimeout(() => { savingTimer = null; savingLate = true; showStatus(); }, SAVING_AFTER_MS);
        return;
      }
    } else {
      clearTimeout(savingTimer);
      savingTimer = null;
      savingLate = false;
    }
    const text = statusText(state, session.canEdit || (mayEdit && !session.refused && !session.closed));
    if (status.textContent !== text) status.textContent = text;
    status.dataset.state = state;
  }

  function others() {
    return session.others().map((o) => {
      const known = (members || []).find((m) => m.id === o.userId);
      // The name the room's own list gives, not the one a browser claims for itself.
      return { field: o.field, name: known ? known.name : o.name || "Someone" };
    });
  }

  function showPresence() {
    if (form) form.showPresence();
  }

  const socket = window.io({ path: "/socket.io", transports: ["websocket", "polling"] });
  const session = new PlanSession({
    socket,
    roomId,
    user: { id: me, name: "" },
    mayEdit,
    on: {
      synced(doc) {
        if (form) form.destroy();
        form = new PlanForm({ doc, planType, canEdit: session.canEdit, members, others, onField: (key) => session.setEditing(key) });
        holder.appendChild(form.root);
        if (rendered) rendered.hidden = true;
        showPresence();
      },
      status: showStatus,
      mode(canEdit) {
        note.hidden = canEdit;
        if (form) form.applyMode(canEdit);
        showStatus();
      },
      access(canEdit) {
        if (canEdit) problem.hidden = true;
        else showProblem("This plan is now read only", "You can no longer edit this plan.");
      },
      refused(message) {
        showProblem("Your change was not saved", message + " The plan is now read only and shows what is saved.");
      },
      closed(message, removed) {
        if (!removed) {
          showProblem("The live plan could not be opened", message);
          return;
        }
        // No longer in the room: nothing of the plan stays on the screen.
        showProblem("You no longer have access to this room", message);
        if (form) form.destroy();
        form = null;
        if (rendered) rendered.remove();
        note.hidden = true;
        socket.disconnect();
      },
      presence: showPresence,
    },
  });

  api("GET", "/rooms/" + encodeURIComponent(roomId) + "/members").then((page) => {
    members = people(page);
    const mine = members.find((m) => m.id === me);
    if (mine) session.setName(mine.name);
    if (form) form.setMembers(members);
    showPresence();
  }).catch(() => {
    // Owners then show without names and presence by the names browsers give: the plan
    // itself still works.
  });

  window.addEventListener("pagehide", () => session.leave());
}

ready(() => {
  const mount = document.getElementById("plan-editor");
  if (mount && typeof window.io === "function") start(mount);
});
