// One person's live copy of a room's plan, kept in step with the server over socket.io
// (the protocol is in /work/shared plans brief and DESIGN.md §8):
//   plan:join {room_id}                -> ack {ok, can_edit}; then the server sends its step 1
//   plan:sync {room_id, message}       <- server's step 1: an editor answers with step 2
//   plan:sync {room_id, message: step1} -> ack {ok, message: step 2}: what we lack
//   plan:update {room_id, message}     -> ack {ok} once the server has stored it; relayed to others
//   plan:awareness {room_id, message}  <-> who is here and which field they are in (never stored)
// Changes made while offline stay in the document and in a queue of updates the server has
// not acknowledged; on reconnecting we join again, sync both ways and resend the queue
// (Yjs ignores an update it already has). No DOM here: node tests drive it with a fake socket.
import * as Y from "yjs";
import * as awarenessProtocol from "y-protocols/awareness";
import { STEP1, isEmptyUpdate, readMessage, syncStep1, syncStep2, toBytes, updateMessage } from "./protocol.js";

/** The origin of every change that came from the server: those are never sent back. */
export const REMOTE = Symbol("remote");

const ANSWER_WITHIN_MS = 10000;
const RETRY_AFTER_MS = 2000;

function errorText(answer, fallback) {
  return (answer && answer.error && typeof answer.error.message === "string" && answer.error.message) || fallback;
}

export class PlanSession {
  /**
   * socket: a socket.io client socket. roomId, user ({id, name}). mayEdit: what the page
   * says (the server's answer to plan:join decides too; the stricter wins).
   * on: {synced(doc, awareness), status(state), mode(canEdit), access(canEdit),
   *      refused(message), closed(message, removed), presence()} — each optional.
   */
  constructor({ socket, roomId, user, mayEdit, on = {}, timers = globalThis }) {
    this.socket = socket;
    this.roomId = roomId;
    this.user = user;
    this.mayEdit = mayEdit;
    this.on = on;
    this.timers = timers;
    this.joined = false;
    this.canEdit = false;
    this.refused = null; // the server's words when it refused a change: read only from then on
    this.closed = null; // the server's words when it would not let us open the plan at all
    this.pending = []; // {update, inFlight, attempt}: changes the server has not acknowledged
    this.saved = false; // some change of ours has been stored, and none is waiting
    this.attempt = 0; // counts joins: answers meant for an earlier connection are ignored
    this.earlyStep1 = null; // the server's step 1 when it beats the answer to plan:join
    this.editing = null; // the field this person is in, for the others to see
    this.hellos = new Map(); // clientID -> the "hello" of theirs we last answered
    this.retryTimer = null;
    this._newDoc();
    socket.on("connect", () => this._join());
    socket.on("disconnect", () => this._offline());
    socket.on("plan:sync", (data) => this._fromServer(data));
    socket.on("plan:update", (data) => this._fromServer(data));
    socket.on("plan:awareness", (data) => this._awarenessFromServer(data));
    socket.on("plan:access", (data) => this._accessChanged(data));
    socket.on("member_removed", (data) => {
      if (data && data.room_id === this.roomId) this._close("You no longer have access to this room.", true);
    });
    if (socket.connected) this._join();
  }

  // --- the document ------------------------------------------------------------------

  _newDoc() {
    if (this.doc) this.doc.destroy(); // its awareness says goodbye for the old client id
    const doc = new Y.Doc();
    const awareness = new awarenessProtocol.Awareness(doc);
    awareness.setLocalState(null); // nobody is shown as here until they may edit
    this.doc = doc;
    this.awareness = awareness;
    this.synced = false;
    this.hellos.clear();
    doc.on("update", (update, origin) => {
      if (origin !== REMOTE && doc === this.doc) this._local(update);
    });
    awareness.on("update", ({ added, updated, removed }, origin) => {
      if (origin === REMOTE) return;
      this._sendAwareness(awareness, added.concat(updated, removed));
    });
    awareness.on("change", ({ added, updated, removed }, origin) => {
      if (origin === REMOTE) this._greet(awareness, added.concat(updated));
      removed.forEach((id) => this.hellos.delete(id));
      this._emit("presence");
    });
  }

  /** Apply bytes from the server; a malformed message is dropped, never fatal. */
  _apply(update) {
    try {
      Y.applyUpdate(this.doc, update, REMOTE);
      return true;
    } catch (e) {
      return false;
    }
  }

  // --- joining and syncing -------------------------------------------------------------

  _join() {
    if (this.closed) return;
    const attempt = ++this.attempt;
    this.joined = false;
    this._status();
    this.socket.timeout(ANSWER_WITHIN_MS).emit("plan:join", { room_id: this.roomId }, (err, answer) => {
      if (attempt !== this.attempt || !this.socket.connected) return;
      if (err) { this._retry(() => this._join()); return; }
      if (!answer || !answer.ok) { this._close(errorText(answer, "This plan could not be opened.")); return; }
      this.joined = true;
      this.canEdit = answer.can_edit === true && this.mayEdit && !this.refused;
      if (!this.canEdit && this.pending.length) {
        // Changes made while away that may no longer be sent (the room closed, say).
        this._refuse("You can no longer edit this plan.");
        this._present();
        return;
      }
      this._emit("mode", this.canEdit);
      this._present();
      this._askForState();
      const early = this.earlyStep1;
      this.earlyStep1 = null;
      if (early) this._answerStep1(early);
      this._flush();
      this._status();
    });
  }

  /** Our step 1: the server answers with everything we lack (all of it, the first time). */
  _askForState() {
    const doc = this.doc;
    const attempt = this.attempt;
    this.socket.timeout(ANSWER_WITHIN_MS).emit("plan:sync", { room_id: this.roomId, message: syncStep1(doc) }, (err, answer) => {
      if (doc !== this.doc || attempt !== this.attempt || !this.joined) return;
      if (err) { this._retry(() => this._askForState()); return; }
      if (!answer || !answer.ok) { this._close(errorText(answer, "This plan could not be opened.")); return; }
      let message;
      try { message = readMessage(answer.message); } catch (e) { return; }
      if (message.type === STEP1 || !this._apply(message.payload)) return;
      if (!this.synced) {
        this.synced = true;
        this._emit("synced", doc, this.awareness);
      }
      this._status();
    });
  }

  _fromServer(data) {
    if (!data || data.room_id !== this.roomId) return;
    let message;
    try { message = readMessage(data.message); } catch (e) { return; }
    if (message.type !== STEP1) { this._apply(message.payload); return; }
    if (this.joined) this._answerStep1(message);
    else this.earlyStep1 = message;
  }

  /**
   * The server's step 1: send what it lacks. Only an editor answers (a reader's answer is
   * refused and recorded as a denied edit), and only with changes of ours the server has
   * not acknowledged: everything else it sent us itself.
   */
  _answerStep1(message) {
    if (!this.canEdit || this.pending.length === 0) return;
    let answer;
    try { answer = syncStep2(this.doc, message.payload); } catch (e) { return; }
    const covered = this.pending.slice();
    const attempt = this.attempt;
    this.socket.timeout(ANSWER_WITHIN_MS).emit("plan:sync", { room_id: this.roomId, message: answer }, (err, reply) => {
      if (err) return; // the queue is resent on the next connection
      if (reply && reply.ok) this._acknowledged(covered);
      else if (attempt === this.attempt) this._refuse(errorText(reply, "Your change was not accepted."));
    });
  }

  // --- local changes --------------------------------------------------------------------

  _local(update) {
    if (isEmptyUpdate(update)) return;
    const entry = { update, inFlight: false, attempt: 0 };
    this.pending.push(entry);
    this.saved = false;
    if (this.joined && this.canEdit) this._send([entry]);
    this._status();
  }

  /** Resend whatever is queued and not on its way (one merged update). */
  _flush() {
    if (!this.joined || !this.canEdit) return;
    const waiting = this.pending.filter((e) => !e.inFlight);
    if (waiting.length) this._send(waiting);
  }

  _send(entries) {
    const update = entries.length === 1 ? entries[0].update : Y.mergeUpdates(entries.map((e) => e.update));
    const attempt = this.attempt;
    entries.forEach((e) => { e.inFlight = true; e.attempt = attempt; });
    this.socket.timeout(ANSWER_WITHIN_MS).emit("plan:update", { room_id: this.roomId, message: updateMessage(update) }, (err, answer) => {
      if (err) {
        // No answer: send again (harmless if it was stored after all).
        entries.forEach((e) => { if (e.attempt === attempt) e.inFlight = false; });
        if (attempt === this.attempt) this._retry(() => this._flush());
        return;
      }
      if (answer && answer.ok) this._acknowledged(entries);
      else if (attempt === this.attempt) this._refuse(errorText(answer, "Your change was not accepted."));
    });
  }

  _acknowledged(entries) {
    const before = this.pending.length;
    this.pending = this.pending.filter((e) => entries.indexOf(e) === -1);
    if (this.pending.length < before && this.pending.length === 0) this.saved = true;
    this._status();
  }

  /**
   * The server refused a change: the editor turns read only and shows what is stored (a
   * fresh copy from the server), so nobody goes on believing their words were kept.
   */
  _refuse(message) {
    if (this.refused) return;
    this.refused = message;
    this.canEdit = false;
    this.pending = [];
    this.saved = false;
    this._emit("refused", message);
    this._emit("mode", false);
    this._newDoc();
    this._status();
    if (this.joined) this._askForState();
  }

  /**
   * The server's `plan:access`: this person's right to edit changed while the page was open
   * (the room closed, say). Changes still waiting are lost, and said to be.
   */
  _accessChanged(data) {
    if (!data || data.room_id !== this.roomId || !this.joined || this.closed) return;
    const may = data.can_edit === true && this.mayEdit && !this.refused;
    if (may === this.canEdit) return;
    if (!may && this.pending.length) {
      this._refuse("You can no longer edit this plan.");
      this._present();
      return;
    }
    this.canEdit = may;
    this._emit("mode", may);
    this._emit("access", may);
    this._present();
    this._flush();
    this._status();
  }

  /** The plan may not be opened (`removed`: nor read any longer, so nothing stays shown). */
  _close(message, removed = false) {
    this.closed = message;
    this.canEdit = false;
    this.joined = false;
    this.pending = [];
    this._emit("mode", false);
    this._emit("closed", message, removed);
    this._status();
  }

  _retry(fn) {
    if (this.retryTimer) return;
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      if (this.socket.connected) fn();
    }, RETRY_AFTER_MS);
  }

  _offline() {
    this.joined = false;
    this.pending.forEach((e) => { e.inFlight = false; });
    // The others' presence is unknown until we are back: show nobody rather than stale news.
    const others = Array.from(this.awareness.getStates().keys()).filter((id) => id !== this.doc.clientID);
    if (others.length) awarenessProtocol.removeAwarenessStates(this.awareness, others, REMOTE);
    this.hellos.clear();
    this._status();
  }

  // --- presence (awareness) --------------------------------------------------------------

  /** This person is now in `field` (a key such as "concerns"), or in no field (null). */
  setEditing(field) {
    this.editing = field;
    if (this.canEdit && this.awareness.getLocalState() !== null) this.awareness.setLocalStateField("field", field);
  }

  /** The name the others see (known once the room's people have loaded). */
  setName(name) {
    this.user = { id: this.user.id, name };
    if (this.canEdit && this.awareness.getLocalState() !== null) this.awareness.setLocalStateField("user", this.user);
  }

  /** Leaving the page: the others stop showing us at once rather than after 30 seconds. */
  leave() {
    if (this.awareness.getLocalState() !== null) {
      awarenessProtocol.removeAwarenessStates(this.awareness, [this.doc.clientID], "leave");
    }
  }

  /** On each join, an editor announces itself with a new "hello", which others answer. */
  _present() {
    if (!this.canEdit) {
      if (this.awareness.getLocalState() !== null) this.awareness.setLocalState(null);
      return;
    }
    this.awareness.setLocalState({ user: { id: this.user.id, name: this.user.name }, field: this.editing, hello: this.attempt });
  }

  _greet(awareness, clients) {
    let answer = false;
    clients.forEach((id) => {
      const state = awareness.getStates().get(id);
      if (!state || id === this.doc.clientID) return;
      if (this.hellos.get(id) !== state.hello) {
        this.hellos.set(id, state.hello);
        answer = true;
      }
    });
    if (answer && awareness.getLocalState() !== null) this._sendAwareness(awareness, [this.doc.clientID]);
  }

  _sendAwareness(awareness, clients) {
    if (!this.joined || !this.socket.connected || clients.length === 0) return;
    let message;
    try { message = awarenessProtocol.encodeAwarenessUpdate(awareness, clients); } catch (e) { return; }
    this.socket.emit("plan:awareness", { room_id: this.roomId, message });
  }

  _awarenessFromServer(data) {
    if (!data || data.room_id !== this.roomId) return;
    try {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, toBytes(data.message), REMOTE);
    } catch (e) {
      // someone else's malformed presence: ignore it
    }
  }

  /** Who else is here: [{clientId, userId, name, field}], from the awareness states. */
  others() {
    const out = [];
    this.awareness.getStates().forEach((state, clientId) => {
      if (clientId === this.doc.clientID || !state || typeof state !== "object") return;
      const user = state.user && typeof state.user === "object" ? state.user : {};
      out.push({
        clientId,
        userId: typeof user.id === "string" ? user.id : null,
        name: typeof user.name === "string" ? user.name : null,
        field: typeof state.field === "string" ? state.field : null,
      });
    });
    return out;
  }

  // --- what the page shows ------------------------------------------------------------------

  /** "connecting" | "live" | "saving" | "saved" | "offline" | "closed". */
  state() {
    if (this.closed) return "closed";
    if (!this.socket.connected) return "offline";
    if (!this.joined || !this.synced) return "connecting";
    if (this.pending.length) return "saving";
    return this.saved ? "saved" : "live";
  }

  _status() {
    this._emit("status", this.state());
  }

  _emit(name, ...args) {
    const fn = this.on[name];
    if (typeof fn === "function") fn(...args);
  }
}
