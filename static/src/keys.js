// A person's encryption keys in the browser: made here, published only sealed under their
// passphrase (PUT /me/keys), unlocked for this tab's session only (sessionStorage: gone
// when the tab closes or they sign out), and the panel that sets them up, unlocks them or
// replaces them after a forgotten passphrase.
import { api, ApiError } from "./api.js";
import * as format from "./format.js";

const STORE = "caseroom.keys";
const MIN_PASSPHRASE = 12;
let unlocked = null;

function remember(s, userId, keys, changed) {
  unlocked = keys;
  sessionStorage.setItem(STORE, JSON.stringify({
    user_id: userId, box_secret: format.b64(s, keys.boxSecret), sign_seed: format.b64(s, keys.signSeed),
  }));
  document.dispatchEvent(new CustomEvent("caseroom:keys", { detail: { unlocked: true, changed: Boolean(changed) } }));
}

export function forget() {
  unlocked = null;
  sessionStorage.removeItem(STORE);
  document.dispatchEvent(new CustomEvent("caseroom:keys", { detail: { unlocked: false } }));
}

/** The keys unlocked in this tab, if they are still the ones published for this person. */
function restore(s, userId, published) {
  const saved = JSON.parse(sessionStorage.getItem(STORE) || "null");
  if (!saved || saved.user_id !== userId || !published) return null;
  const keys = format.keysFromSecrets(s, format.unb64(s, saved.box_secret, 32), format.unb64(s, saved.sign_seed, 32));
  // New keys made on another device: these no longer open anything shared from now on.
  if (format.b64(s, keys.boxPublic) !== published.box_public
      || format.b64(s, keys.signPublic) !== published.sign_public) {
    sessionStorage.removeItem(STORE);
    return null;
  }
  return keys;
}

export function current() { return unlocked; }

function show(panel, state) {
  panel.querySelectorAll("[data-keys-state]").forEach((el) => { el.hidden = el.dataset.keysState !== state; });
  panel.dataset.state = state;
}

function say(panel, text) {
  const status = panel.querySelector("[data-keys-status]");
  if (status) status.textContent = text;
}

function fail(panel, text, field) {
  const error = panel.querySelector("[data-keys-error]");
  error.textContent = text;
  error.hidden = !text;
  if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
}

function newPassphrase(form, panel) {
  const [first, again] = form.querySelectorAll('input[type="password"]');
  if (first.value.length < MIN_PASSPHRASE) {
    fail(panel, `Choose a passphrase of at least ${MIN_PASSPHRASE} characters.`, first);
    return null;
  }
  if (first.value !== again.value) {
    fail(panel, "The two passphrases are not the same.", again);
    return null;
  }
  return first.value;
}

function busy(form, on) {
  form.querySelectorAll("button, input").forEach((el) => { el.disabled = on; });
}

async function makeKeys(s, panel, userId, form, replacing) {
  const passphrase = newPassphrase(form, panel);
  if (passphrase === null) return;
  busy(form, true);
  say(panel, "Making your keys…");
  try {
    const keys = format.generateKeys(s);
    await api("PUT", "/me/keys", format.sealPrivate(s, keys, passphrase));
    form.reset();
    // New keys: the server deleted the keys sealed to the old ones (the page's are stale).
    remember(s, userId, keys, replacing);
    fail(panel, "");
    say(panel, replacing
      ? "Your new keys are ready. Everyone in your rooms has been told your keys changed."
      : "Your keys are ready and unlocked in this tab.");
    render(s, panel, keys);
  } catch (e) {
    fail(panel, e instanceof ApiError ? e.message : "Your keys could not be made: " + e.message);
  } finally {
    busy(form, false);
  }
}

async function unlock(s, panel, userId, form) {
  const field = form.querySelector('input[type="password"]');
  busy(form, true);
  say(panel, "Unlocking…");
  try {
    const published = await api("GET", "/me/keys");
    const keys = format.openPrivate(s, published, field.value);
    form.reset();
    field.removeAttribute("aria-invalid");
    remember(s, userId, keys);
    fail(panel, "");
    say(panel, "Your keys are unlocked in this tab.");
    render(s, panel, keys);
  } catch (e) {
    say(panel, "");
    fail(panel, e.message, field);
  } finally {
    busy(form, false);
  }
}

function render(s, panel, keys) {
  const fp = panel.querySelector("[data-keys-fingerprint]");
  if (fp) fp.textContent = format.fingerprint(s, keys.boxPublic, keys.signPublic);
  show(panel, "unlocked");
}

/** Wires one keys panel (the room's Files section, the account page). */
export async function setUp(panel) {
  const s = await format.sodium();
  const userId = panel.dataset.userId;
  panel.hidden = false;
  let published = null;
  try {
    published = await api("GET", "/me/keys");
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) { fail(panel, e.message); return; }
  }
  const keys = restore(s, userId, published);
  if (keys) { unlocked = keys; render(s, panel, keys); document.dispatchEvent(new CustomEvent("caseroom:keys", { detail: { unlocked: true } })); }
  else show(panel, published ? "unlock" : "setup");

  panel.querySelectorAll("form[data-keys-form]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const kind = form.dataset.keysForm;
      if (kind === "unlock") unlock(s, panel, userId, form);
      else makeKeys(s, panel, userId, form, kind === "reset");
    });
  });
  const lock = panel.querySelector("[data-keys-lock]");
  if (lock) lock.addEventListener("click", () => { forget(); say(panel, "Locked."); show(panel, "unlock"); });
}

// Signing out ends the unlocked keys with the session, whatever the tab does next.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.getAttribute("action") === "/logout") sessionStorage.removeItem(STORE);
}, true);
