// Photos on a concern (issue #14): added on the reporter's device as the concern is sent,
// encrypted there with the file format and bound to the concern (its contact id), the key
// sealed to whoever may read the concern; opened in the browser of someone who may, and
// passed on by a holder to people who may see it now (the lead of the room it went to).
import { api, ApiError, download, upload } from "./api.js";
import * as format from "./format.js";
import { current as currentKeys } from "./keys.js";

const IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const MAX_PHOTOS = 10;
const DRAFT = "caseroom:concern-draft";

function names(people) { return people.map((p) => p.name).join(", "); }

// --- reading: the contact page and a concern's item in its room -------------------------

export function setUpList(section) {
  const items = () => section.querySelectorAll("li[data-photo-id]");

  async function enhance(li, keepStatus) {
    const status = li.querySelector("[data-photo-status]");
    const actions = li.querySelector("[data-photo-actions]");
    actions.replaceChildren();
    const keys = currentKeys();
    if (!keys) { status.textContent = "Unlock your encryption keys (above) to see this photo."; return; }
    if (!li.dataset.sealedKey) {
      status.textContent = "You hold no key to this photo yet: whoever passed the concern on can give it to you.";
      return;
    }
    const s = await format.sodium();
    try {
      const key = format.openKey(s, keys, li.dataset.sealedKey);
      const found = format.decryptName(s, key, li.dataset.encryptedName, li.dataset.scopeId, li.dataset.photoId);
      li.querySelector("[data-photo-name]").textContent = found.name;
    } catch (e) {
      status.textContent = "This photo's name could not be opened with your keys.";
      return;
    }
    if (!keepStatus) status.textContent = "";
    const button = (label, action) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "button button--secondary button--small";
      b.dataset.action = action;
      b.textContent = label;
      actions.append(b);
    };
    button("View", "view");
    const offers = Number(li.dataset.offers || 0);
    if (offers > 0) button(`Give the key to ${offers} ${offers === 1 ? "person" : "people"} who may see it`, "give");
  }

  async function verified(li) {
    const s = await format.sodium();
    const id = li.dataset.photoId;
    const meta = await api("GET", `/photos/${id}`);
    try {
      // The manifest binds the photo to its concern (scope_id), wherever the concern went.
      const manifest = format.verifiedManifest(s, { ...meta, room_id: meta.scope_id }, id);
      return { s, meta, manifest };
    } catch (e) {
      if (e instanceof format.Tampered) {
        await api("POST", `/photos/${id}/tampered`, { reason: String(e.message).slice(0, 200) }).catch(() => {});
        throw new Error(`This photo failed its integrity check and was not opened (${e.message}). It has been reported.`);
      }
      throw e;
    }
  }

  async function view(li) {
    const status = li.querySelector("[data-photo-status]");
    status.textContent = "Checking and decrypting…";
    const { s, meta, manifest } = await verified(li);
    const key = format.openKey(s, currentKeys(), meta.sealed_key);
    const { name, type } = format.decryptName(s, key, meta.encrypted_name, meta.scope_id, meta.id);
    const shown = IMAGES.has(type) ? type : "application/octet-stream";
    const blob = await format.decryptStream(s, await download(`/photos/${meta.id}/content`), key, manifest, shown);
    const box = li.querySelector("[data-photo-preview]");
    if (box.dataset.url) URL.revokeObjectURL(box.dataset.url);
    const url = URL.createObjectURL(blob);
    box.dataset.url = url;
    let shownEl;
    if (IMAGES.has(type)) {
      shownEl = document.createElement("img");
      shownEl.alt = name;
      shownEl.className = "photo__image";
    } else {
      shownEl = document.createElement("a");
      shownEl.download = name;
      shownEl.textContent = `Save ${name}`;
    }
    if (shownEl.tagName === "IMG") shownEl.src = url; else shownEl.href = url;
    box.replaceChildren(shownEl);
    box.hidden = false;
    status.textContent = "Verified and decrypted in your browser.";
    li.dataset.offers = String((meta.offer_to_wrap || []).length);
  }

  async function give(li) {
    const { s, meta } = await verified(li);
    const waiting = meta.offer_to_wrap || [];
    if (!waiting.length) { li.dataset.offers = "0"; return "Everyone who may see this photo holds its key."; }
    const key = format.openKey(s, currentKeys(), meta.sealed_key);
    const sealed = waiting.map((w) => ({ user_id: w.user.id, sealed_key: format.sealKey(s, key, w.box_public) }));
    await api("POST", `/photos/${meta.id}/keys`, { keys: sealed });
    li.dataset.offers = "0";
    return `Given to ${names(waiting.map((w) => w.user))}.`;
  }

  section.addEventListener("click", async (event) => {
    const b = event.target.closest("button[data-action]");
    if (!b || !section.contains(b)) return;
    const li = b.closest("li[data-photo-id]");
    const status = li.querySelector("[data-photo-status]");
    b.disabled = true;
    try {
      if (b.dataset.action === "view") await view(li);
      else if (b.dataset.action === "give") status.textContent = await give(li);
    } catch (e) {
      status.textContent = e.message;
    } finally {
      b.disabled = false;
      if (b.dataset.action === "give") enhance(li, true);
    }
  });
  const all = () => items().forEach((li) => enhance(li));
  document.addEventListener("caseroom:keys", all);
  all();
}

// --- adding: the "Raise a concern" page --------------------------------------------------

/** The form as the API's body (as workspace/routes/pages/front_door.py reads it). */
function concernBody(form) {
  const data = new FormData(form);
  const text = (name) => String(data.get(name) || "").trim();
  const child = {};
  for (const n of ["name", "date_of_birth", "nhs_number", "upn"]) if (text(`child_${n}`)) child[n] = text(`child_${n}`);
  const body = { child, sensitivity: text("sensitivity") || "room" };
  for (const n of ["what_happened", "place", "who_told", "child_words", "action_taken"]) if (text(n)) body[n] = text(n);
  const answers = data.getAll("should_i_share").map(String);
  if (answers.length) body.should_i_share = answers;
  // A datetime-local has no zone: the reporter's device's (in England, England's).
  if (text("happened_at")) {
    const when = new Date(text("happened_at"));
    body.happened_at = Number.isNaN(when.getTime()) ? text("happened_at") : when.toISOString();
  }
  return body;
}

async function sendPhoto(s, keys, me, contactId, sensitivity, file) {
  const id = crypto.randomUUID();
  const encrypted = await format.encryptFile(s, file, contactId, id, () => {});
  const name = format.encryptName(s, encrypted.key, file.name, file.type || "application/octet-stream", contactId, id);
  let recipients = (await api("GET", `/concerns/${contactId}/recipients`)).items;
  for (let attempt = 0; ; attempt += 1) {
    const sealed = recipients.map((r) => ({ user_id: r.user.id, box_public: r.box_public, sealed_key: format.sealKey(s, encrypted.key, r.box_public) }));
    const manifest = format.manifestText(s, {
      roomId: contactId, fileId: id, uploaderId: me, sensitivity, header: encrypted.header,
      size: encrypted.size, sha256: encrypted.sha256, encryptedName: name, recipients: sealed,
    });
    try {
      await api("POST", `/concerns/${contactId}/photos`, {
        id, sensitivity, size: encrypted.size, sha256: encrypted.sha256, manifest,
        signature: format.sign(s, keys, manifest), encrypted_name: name,
        keys: sealed.map((k) => ({ user_id: k.user_id, sealed_key: k.sealed_key })),
      });
      break;
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== "recipients_changed" || attempt >= 2) throw e;
      recipients = e.body.recipients;
    }
  }
  await upload(`/photos/${id}/content`, encrypted.blob);
}

function receipt(sent, photoCount, failed) {
  const box = document.createElement("div");
  box.className = "narrow";
  box.id = "concern-sent";
  const panel = document.createElement("div");
  panel.className = "panel panel--confirmation";
  panel.setAttribute("role", "status");
  const h = document.createElement("h1");
  h.textContent = "Concern sent";
  const ref = document.createElement("p");
  ref.append("Your reference is ");
  const strong = document.createElement("strong");
  strong.dataset.testid = "concern-reference";
  strong.textContent = sent.reference;
  ref.append(strong);
  panel.append(h, ref);
  const where = document.createElement("p");
  where.textContent = sent.went_to === "room"
    ? "It is in the child's case room, where you and the others working with the child can read it; the lead professional has been told."
    : "It went to the council's front door. A social worker there will look at it and decide what happens next; if a case room is opened, your concern will be its first entry.";
  const photos = document.createElement("p");
  photos.dataset.testid = "concern-photos";
  photos.textContent = failed
    ? `${photoCount - failed} of ${photoCount} photos went with it, encrypted on this device. ${failed} could not be sent: quote the reference to the front door.`
    : `${photoCount} ${photoCount === 1 ? "photo" : "photos"} went with it, encrypted on this device: only the people who may read the concern can open them.`;
  const again = document.createElement("p");
  const link = document.createElement("a");
  link.href = "/concerns/new";
  link.textContent = "Raise another concern";
  again.append(link);
  box.append(panel, where, photos, again);
  return box;
}

export function setUpConcern(form) {
  const field = form.querySelector("[data-concern-photos]");
  const input = field.querySelector("input[type=file]");
  const status = field.querySelector("[data-photos-status]");
  const error = document.querySelector("[data-concern-error]");
  const keysBox = document.getElementById("concern-keys");
  field.hidden = false;
  keysBox.hidden = false;
  input.addEventListener("change", () => {
    const n = input.files.length;
    status.textContent = n ? `${n} ${n === 1 ? "photo" : "photos"} chosen: they are encrypted on this device when you send.` : "";
    if (n && !currentKeys()) keysBox.open = true;
  });

  form.addEventListener("submit", async (event) => {
    const chosen = Array.from(input.files || []);
    if (!chosen.length) return; // the plain form posts as it always has
    event.preventDefault();
    error.hidden = true;
    const fail = (text) => { error.textContent = text; error.hidden = false; error.focus(); };
    if (chosen.length > MAX_PHOTOS) { fail(`A concern takes at most ${MAX_PHOTOS} photos.`); return; }
    const keys = currentKeys();
    if (!keys) { keysBox.open = true; fail("Photos are encrypted with your keys: set them up or unlock them (below the form), then send. Or remove the photos to send without them."); return; }
    const submit = document.querySelector(`button[form="${form.id}"]`);
    submit.disabled = true;
    let sent;
    try {
      sent = await api("POST", "/concerns", concernBody(form));
    } catch (e) {
      fail(e.message); // a refusal names the fields that were wrong
      submit.disabled = false;
      return;
    }
    // The concern is sent and kept, whatever happens to the photos now.
    try { localStorage.removeItem(DRAFT); } catch (e) { /* storage off */ }
    const s = await format.sodium();
    const me = document.querySelector("[data-keys-panel]").dataset.userId;
    let failed = 0;
    for (const [i, file] of chosen.entries()) {
      status.textContent = `Encrypting and sending photo ${i + 1} of ${chosen.length}…`;
      try {
        await sendPhoto(s, keys, me, sent.contact_id, concernBody(form).sensitivity, file);
      } catch (e) {
        failed += 1;
      }
    }
    form.closest(".narrow").replaceWith(receipt(sent, chosen.length, failed));
  });
}
