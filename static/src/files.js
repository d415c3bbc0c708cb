// The room's Files: share a file (encrypted here, wrapped for exactly the people the
// policy names, signed, uploaded with progress), open one (verified, decrypted, saved or
// previewed), and hand a file's key on to people who may now have it. The server renders
// the list (metadata only: names are encrypted); this fills in names and actions.
import { api, ApiError, download, upload } from "./api.js";
import * as format from "./format.js";
import { current as currentKeys } from "./keys.js";

// Shown inline only for types the browser renders without running anything; never SVG or
// HTML (a blob: document would run in our origin), whatever the uploader claimed.
const PREVIEWABLE = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"]);
const KIND_LABELS = { voice_of_child: "voice of the child", third_party: "third-party report" };
const MAX_RETRIES = 3;

function humanSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function when(iso) {
  return new Date(iso).toLocaleString("en-GB", { day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
}

function names(people) { return people.map((p) => p.name).join(", "); }

// The plaintext size of a ciphertext (every 64 KiB chunk carries a 17-byte tag).
function plainSize(cipherSize) {
  const chunks = Math.max(1, Math.ceil(cipherSize / format.CIPHER_CHUNK));
  return cipherSize - chunks * 17;
}

export function setUp(section) {
  const roomId = section.dataset.roomId;
  const me = section.dataset.me;
  const isLead = section.dataset.isLead === "yes";
  const list = section.querySelector("[data-file-list]");
  const template = document.getElementById("file-template");
  const form = document.getElementById("file-upload");

  function items() { return list ? list.querySelectorAll("li.file[data-file-id]") : []; }

  async function enhanceAll() {
    for (const li of items()) await enhance(li);
  }

  /** Decrypt the name (the caller's sealed key came with the page or the event) and offer
   * what the caller may do with the file. */
  async function enhance(li, keepStatus) {
    const s = await format.sodium();
    const keys = currentKeys();
    const actions = li.querySelector("[data-file-actions]");
    const status = li.querySelector("[data-file-status]");
    actions.replaceChildren();
    actions.hidden = false;
    if (li.dataset.stored !== "yes") return;
    if (!keys) { status.textContent = "Unlock your keys to open this file."; return; }
    if (!li.dataset.sealedKey) {
      status.textContent = "You hold no key to this file yet. Someone who has it can share it with you.";
      return;
    }
    if (!keepStatus) status.textContent = "";
    try {
      const key = format.openKey(s, keys, li.dataset.sealedKey);
      const found = format.decryptName(s, key, li.dataset.encryptedName, roomId, li.dataset.fileId);
      li.querySelector("[data-file-name]").textContent = found.name;
      li.dataset.type = found.type;
    } catch (e) {
      status.textContent = "This file's name could not be opened with your keys.";
      return;
    }
    const button = (label, action) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "button button--secondary button--small";
      b.dataset.action = action;
      b.textContent = label;
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " " + li.querySelector("[data-file-name]").textContent;
      b.append(hidden);
      actions.append(b);
      return b;
    };
    button("Download", "download");
    if (PREVIEWABLE.has(li.dataset.type)) button("Preview", "preview");
    if (Number(li.dataset.offers || 0) > 0) button(`Share with ${li.dataset.offers} waiting`, "offers");
    if (isLead) button("Share with someone who joined later", "share");
  }

  /** Everything docs/file-format.md §5 asks a reader to check, then the plaintext. */
  async function open(li) {
    const s = await format.sodium();
    const keys = currentKeys();
    const fileId = li.dataset.fileId;
    const status = li.querySelector("[data-file-status]");
    status.textContent = "Checking and decrypting…";
    const meta = await api("GET", `/files/${fileId}`);
    try {
      const manifest = format.verifiedManifest(s, meta, fileId);
      if (!meta.sealed_key) throw new ApiError(403, { error: { message: "You hold no key to this file yet." } });
      const key = format.openKey(s, keys, meta.sealed_key);
      const { name, type } = format.decryptName(s, key, meta.encrypted_name, roomId, fileId);
      const stream = await download(`/files/${fileId}/content`);
      const shown = PREVIEWABLE.has(type) ? type : "application/octet-stream";
      const blob = await format.decryptStream(s, stream, key, manifest, shown, (done, total) => {
        status.textContent = `Checking and decrypting… ${Math.floor((100 * done) / Math.max(total, 1))}%`;
      });
      status.textContent = "";
      return { name, type: shown, blob, meta };
    } catch (e) {
      if (e instanceof format.Tampered) {
        // Reported (audited) so the lead and the IG lead can find out what happened; the
        // person is told so only once the server has it.
        const reported = await api("POST", `/files/${fileId}/tampered`, { reason: String(e.message).slice(0, 200) })
          .then(() => true, () => false);
        const told = reported ? "It has been reported." : "It could not be reported: tell the lead professional.";
        throw new Error(`This file failed its integrity check and was not opened (${e.message}). ${told}`);
      }
      throw e;
    }
  }

  async function save(li) {
    const { name, blob, meta } = await open(li);
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    li.querySelector("[data-file-status]").textContent = `Downloaded ${name}: it was verified and decrypted in your browser.`;
    offer(li, meta);
  }

  async function preview(li) {
    const { name, type, blob, meta } = await open(li);
    const box = li.querySelector("[data-file-preview]");
    const old = box.dataset.url;
    if (old) URL.revokeObjectURL(old);
    const url = URL.createObjectURL(blob);
    box.dataset.url = url;
    let shown;
    if (type === "application/pdf") {
      shown = document.createElement("iframe");
      shown.title = name;
    } else {
      shown = document.createElement("img");
      shown.alt = name;
    }
    shown.src = url;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "button button--link";
    close.textContent = "Close preview";
    close.addEventListener("click", () => { box.replaceChildren(); box.hidden = true; URL.revokeObjectURL(url); delete box.dataset.url; });
    box.replaceChildren(shown, close);
    box.hidden = false;
    offer(li, meta);
  }

  function offer(li, meta) {
    const waiting = meta.offer_to_wrap || [];
    li.dataset.offers = String(waiting.length);
    li._offers = waiting;
  }

  /** People entitled when the file was uploaded who have made keys since: no decision to
   * make, they were entitled; the key is wrapped for each of them here. */
  async function giveToWaiting(li) {
    const s = await format.sodium();
    const fileId = li.dataset.fileId;
    const meta = await api("GET", `/files/${fileId}`);
    format.verifiedManifest(s, meta, fileId);
    const waiting = meta.offer_to_wrap || [];
    if (!waiting.length) { li.dataset.offers = "0"; return "Nobody is waiting for this file now."; }
    const key = format.openKey(s, currentKeys(), meta.sealed_key);
    const sealed = waiting.map((w) => ({ user_id: w.user.id, sealed_key: format.sealKey(s, key, w.box_public) }));
    await api("POST", `/files/${fileId}/keys`, { keys: sealed });
    li.dataset.offers = "0";
    return `Shared with ${names(waiting.map((w) => w.user))}.`;
  }

  /** The lead shares an earlier file with a guest or a newer member: a sharing decision. */
  async function shareForm(li) {
    const status = li.querySelector("[data-file-status]");
    const existing = li.querySelector("form.file-share");
    if (existing) { existing.querySelector("select").focus(); return; }
    const tpl = document.getElementById("file-share-template");
    const fragment = tpl.content.cloneNode(true);
    const shareForm = fragment.querySelector("form");
    // Ids inside the form are made unique per file (labels must point at one field).
    shareForm.querySelectorAll("[id]").forEach((el) => {
      const old = el.id;
      el.id = `${old}-${li.dataset.fileId}`;
      shareForm.querySelectorAll(`[for="${old}"]`).forEach((l) => l.setAttribute("for", el.id));
    });
    const select = shareForm.querySelector("select[name=user_id]");
    const listed = await api("GET", `/rooms/${roomId}/recipients?sensitivity=${encodeURIComponent(li.dataset.sensitivity)}`);
    for (const r of listed.items) {
      if (r.user.id === me) continue;
      const option = document.createElement("option");
      option.value = r.user.id;
      option.textContent = `${r.user.name} (${r.user.organisation.name}) · key ${r.fingerprint}`;
      option.dataset.boxPublic = r.box_public;
      select.append(option);
    }
    if (select.options.length === 0) { status.textContent = "Everyone else who may read this file has no keys yet."; return; }
    shareForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = shareForm.querySelector("[data-share-error]");
      error.hidden = true;
      const data = new FormData(shareForm);
      const option = select.selectedOptions[0];
      try {
        const s = await format.sodium();
        const meta = await api("GET", `/files/${li.dataset.fileId}`);
        format.verifiedManifest(s, meta, li.dataset.fileId);
        const key = format.openKey(s, currentKeys(), meta.sealed_key);
        const body = {
          keys: [{ user_id: option.value, sealed_key: format.sealKey(s, key, option.dataset.boxPublic) }],
          purpose: data.get("purpose"), lawful_basis: data.get("lawful_basis"), consent: data.get("consent"),
        };
        if (data.get("consent_reason")) body.consent_reason = data.get("consent_reason");
        await api("POST", `/files/${li.dataset.fileId}/keys`, body);
        shareForm.remove();
        status.textContent = `Shared with ${option.textContent.split(" (")[0]}. The decision is in the sharing record.`;
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
        error.focus();
      }
    });
    shareForm.querySelector("[data-share-cancel]").addEventListener("click", () => shareForm.remove());
    li.append(shareForm);
    select.focus();
  }

  if (list) {
    list.addEventListener("click", async (event) => {
      const b = event.target.closest("button[data-action]");
      if (!b || !list.contains(b)) return;
      const li = b.closest("li.file");
      const status = li.querySelector("[data-file-status]");
      b.disabled = true;
      try {
        if (b.dataset.action === "download") await save(li);
        else if (b.dataset.action === "preview") await preview(li);
        else if (b.dataset.action === "offers") status.textContent = await giveToWaiting(li);
        else if (b.dataset.action === "share") await shareForm(li);
      } catch (e) {
        status.textContent = e.message;
      } finally {
        b.disabled = false;
        // The offers may have changed (a download fetched them afresh); the status stays.
        if (b.dataset.action === "download" || b.dataset.action === "preview") enhance(li, true);
      }
    });
  }

  // --- live: a file shared while the page is open ---------------------------------------
  document.addEventListener("caseroom:file", async (event) => {
    const f = event.detail;
    if (!list || !template || f.room_id !== roomId || !f.stored) return;
    let li = list.querySelector(`li.file[data-file-id="${CSS.escape(f.id)}"]`);
    if (!li) {
      li = template.content.firstElementChild.cloneNode(true);
      list.prepend(li);
      const empty = list.querySelector(".files__empty");
      if (empty) empty.remove();
    }
    li.id = `f-${f.id}`;
    li.dataset.fileId = f.id;
    li.dataset.roomId = f.room_id;
    li.dataset.isMine = f.uploader.id === me ? "yes" : "no";
    li.dataset.kind = f.kind;
    li.dataset.sensitivity = f.sensitivity;
    li.dataset.size = String(f.size);
    li.dataset.uploaderId = f.uploader.id;
    li.dataset.stored = "yes";
    li.dataset.encryptedName = f.encrypted_name;
    const kind = li.querySelector(".file__kind");
    kind.textContent = KIND_LABELS[f.kind] || f.kind.replace(/_/g, " ");
    kind.className = `tag tag--${f.kind} file__kind`;
    li.querySelector(".file__restricted").hidden = f.sensitivity !== "restricted";
    li.querySelector("[data-file-size]").textContent = humanSize(plainSize(f.size));
    li.querySelector(".file__uploader").textContent = `${f.uploader.name} (${f.uploader.organisation.name})`;
    const time = li.querySelector("time");
    time.setAttribute("datetime", f.created_at);
    time.textContent = when(f.created_at);
    const pending = li.querySelector(".file__pending");
    if (pending) pending.hidden = true;
    // The event carries no key: the caller's own sealed key comes with the metadata.
    try {
      const meta = await api("GET", `/files/${f.id}`);
      li.dataset.sealedKey = meta.sealed_key || "";
      li.dataset.offers = String((meta.offer_to_wrap || []).length);
    } catch (e) {
      li.dataset.sealedKey = "";
    }
    enhance(li);
  });

  /** The caller's sealed keys and offers as the server has them now (after new keys). */
  async function refresh() {
    const mine = new Map();
    let cursor = "";
    do {
      const page = await api("GET", `/rooms/${roomId}/files?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      for (const f of page.items) mine.set(f.id, f);
      cursor = page.next;
    } while (cursor);
    for (const li of items()) {
      const f = mine.get(li.dataset.fileId);
      li.dataset.sealedKey = (f && f.sealed_key) || "";
      li.dataset.offers = String(f ? (f.offer_to_wrap || []).length : 0);
      if (f) continue;
      li.querySelector("[data-file-name]").textContent = "Encrypted file";
    }
  }

  document.addEventListener("caseroom:keys", async (event) => {
    if (event.detail && event.detail.changed) {
      try { await refresh(); } catch (e) { /* the next page load shows the truth */ }
    }
    enhanceAll();
  });
  enhanceAll();

  if (form) setUpUpload(form, roomId, me);
}

// --- sharing a file ----------------------------------------------------------------------

function setUpUpload(form, roomId, me) {
  const input = form.querySelector("input[type=file]");
  const zone = form.querySelector("[data-dropzone]");
  const chosen = form.querySelector("[data-file-chosen]");
  const progress = form.querySelector("progress");
  const status = form.querySelector("[data-upload-status]");
  const error = form.querySelector("[data-upload-error]");
  const submit = form.querySelector("button[type=submit]");
  let file = null;
  form.hidden = false;

  function choose(f) {
    file = f;
    chosen.textContent = f ? `${f.name} (${humanSize(f.size)})` : "No file chosen.";
    error.hidden = true;
  }
  input.addEventListener("change", () => choose(input.files[0] || null));
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (e) => {
    e.preventDefault();
    zone.classList.add("dropzone--over");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("dropzone--over")));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
  });

  function failWith(text) {
    error.textContent = text;
    error.hidden = false;
    status.textContent = "";
    progress.hidden = true;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const keys = currentKeys();
    if (!keys) { failWith("Unlock your encryption keys first (above), then share the file."); return; }
    if (!file) { failWith("Choose a file to share, or drag one here."); input.focus(); return; }
    const max = Number(form.dataset.maxBytes || 0);
    if (max && file.size > max) { failWith(`That file is ${humanSize(file.size)}: files can be at most ${humanSize(max)}.`); return; }
    submit.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    try {
      const shared = await share(file, keys, form, roomId, me, (phase, done, total) => {
        const pct = Math.floor((100 * done) / Math.max(total, 1));
        progress.value = phase === "Encrypting" ? pct / 2 : 50 + pct / 2;
        status.textContent = `${phase} ${file.name}… ${pct}%`;
      });
      progress.value = 100;
      let text = `Shared ${file.name}, encrypted, with ${shared.recipients.length} ${shared.recipients.length === 1 ? "person" : "people"}.`;
      if (shared.waiting.length) text += ` ${names(shared.waiting)} ${shared.waiting.length === 1 ? "has" : "have"} not set up encryption keys yet: anyone who holds the file will be offered to share it with them when they do.`;
      status.textContent = text;
      form.reset();
      choose(null);
    } catch (e) {
      failWith(e.message);
    } finally {
      submit.disabled = false;
      setTimeout(() => { progress.hidden = true; }, 1500);
    }
  });
}

async function share(file, keys, form, roomId, me, onProgress) {
  const s = await format.sodium();
  const fileId = crypto.randomUUID();
  const sensitivity = form.querySelector("[name=sensitivity]").value;
  const kind = form.querySelector("[name=kind]").value;
  const encrypted = await format.encryptFile(s, file, roomId, fileId, (d, t) => onProgress("Encrypting", d, t));
  const name = format.encryptName(s, encrypted.key, file.name, file.type || "application/octet-stream", roomId, fileId);
  let listed = await api("GET", `/rooms/${roomId}/recipients?sensitivity=${encodeURIComponent(sensitivity)}`);
  let recipients = listed.items;
  let waiting = listed.waiting;
  for (let attempt = 0; ; attempt += 1) {
    const sealed = recipients.map((r) => ({ user_id: r.user.id, box_public: r.box_public, sealed_key: format.sealKey(s, encrypted.key, r.box_public) }));
    const manifest = format.manifestText(s, {
      roomId, fileId, uploaderId: me, sensitivity, header: encrypted.header, size: encrypted.size,
      sha256: encrypted.sha256, encryptedName: name, recipients: sealed,
    });
    try {
      await api("POST", `/rooms/${roomId}/files`, {
        id: fileId, sensitivity, kind, size: encrypted.size, sha256: encrypted.sha256, manifest,
        signature: format.sign(s, keys, manifest), encrypted_name: name,
        keys: sealed.map((k) => ({ user_id: k.user_id, sealed_key: k.sealed_key })),
      });
      break;
    } catch (e) {
      // Someone joined, left or made new keys since the list was fetched: wrap again.
      if (!(e instanceof ApiError) || e.code !== "recipients_changed" || attempt + 1 >= MAX_RETRIES) throw e;
      recipients = e.body.recipients;
      waiting = e.body.waiting || [];
    }
  }
  await upload(`/files/${fileId}/content`, encrypted.blob, (d, t) => onProgress("Uploading", d, t));
  return { fileId, recipients: recipients.map((r) => r.user), waiting };
}
