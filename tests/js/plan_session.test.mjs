// The plan editor's live session (static/src/plan/session.js) against a fake socket.io
// server that keeps the plan protocol's contract (plan:join, plan:sync, plan:update,
// plan:awareness): convergence, offline edits merged on reconnect, the queue resent when an
// answer is lost, a refusal turning the editor read only. Run by tests/test_plan_editor_js.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as Y from "yjs";
import { PlanSession } from "../../static/src/plan/session.js";
import { STEP1, readMessage, syncStep1, syncStep2, updateMessage } from "../../static/src/plan/protocol.js";

const ROOM = "room-1";
const fast = { setTimeout: (fn) => setTimeout(fn, 5) };
const tick = () => new Promise((resolve) => setTimeout(resolve, 2));

/** What the server makes when a plan is created (every top-level key). */
function newPlan() {
  const doc = new Y.Doc();
  const plan = doc.getMap("plan");
  doc.transact(() => {
    plan.set("type", "child_protection");
    ["concerns", "seen", "services", "contingency", "child_voice", "family_summary"].forEach((k) => plan.set(k, new Y.Text()));
    const dates = new Y.Map();
    dates.set("reviews", new Y.Array());
    plan.set("key_dates", dates);
    plan.set("outcomes", new Y.Array());
  });
  return doc;
}

/** ArrayBuffer, as socket.io gives binary data to a browser. */
const wire = (bytes) => bytes.slice().buffer;

class FakeServer {
  constructor() {
    this.doc = newPlan();
    this.sockets = new Set();
    this.refuse = new Set(); // users whose changes are refused
    this.readers = new Set(); // users who may read only
    this.dropAnswers = 0; // how many plan:update acks to lose (stored all the same)
    this.step1First = false; // send the step 1 before answering plan:join
    this.received = []; // [user, event, type]
  }

  deliver(fn) {
    setTimeout(fn, 1);
  }

  others(socket) {
    return [...this.sockets].filter((s) => s !== socket && s.joined && s.connected);
  }

  handle(socket, event, data, ack) {
    const user = socket.user;
    const mayEdit = !this.readers.has(user) && !this.refuse.has(user);
    const refused = { ok: false, error: { code: "forbidden", message: "You may not edit this plan." } };
    if (event === "plan:join") {
      socket.joined = true;
      const step1 = () => socket.receive("plan:sync", { room_id: ROOM, message: wire(syncStep1(this.doc)) });
      if (this.step1First) step1();
      ack({ ok: true, can_edit: !this.readers.has(user) });
      if (!this.step1First) step1();
      return;
    }
    if (!socket.joined) { ack({ ok: false, error: { code: "not_joined", message: "Join first." } }); return; }
    if (event === "plan:awareness") {
      this.others(socket).forEach((s) => s.receive("plan:awareness", { room_id: ROOM, message: wire(new Uint8Array(data.message)) }));
      return;
    }
    const message = readMessage(data.message);
    this.received.push([user, event, message.type]);
    if (event === "plan:sync" && message.type === STEP1) {
      ack({ ok: true, message: wire(syncStep2(this.doc, message.payload)) });
      return;
    }
    if (!mayEdit) { ack(refused); return; }
    Y.applyUpdate(this.doc, message.payload);
    this.others(socket).forEach((s) => s.receive("plan:update", { room_id: ROOM, message: wire(updateMessage(message.payload)) }));
    if (event === "plan:update" && this.dropAnswers > 0) { this.dropAnswers -= 1; return; }
    ack({ ok: true });
  }
}

class FakeSocket {
  constructor(server, user) {
    this.server = server;
    this.user = user;
    this.connected = false;
    this.joined = false;
    this.handlers = {};
  }

  on(event, fn) { (this.handlers[event] = this.handlers[event] || []).push(fn); }

  receive(event, data) {
    if (!this.connected) return;
    this.server.deliver(() => { if (this.connected) (this.handlers[event] || []).forEach((fn) => fn(data)); });
  }

  emit(event, data, ack) {
    this.timeout(50).emit(event, data, ack ? (err, answer) => { if (!err) ack(answer); } : undefined);
  }

  timeout() {
    const ms = 30; // however long the session would wait: this network answers in 1 ms or never
    return {
      emit: (event, data, ack) => {
        if (!this.connected) return; // a real client would buffer: the session must not rely on it
        let answered = false;
        const timer = ack ? setTimeout(() => { if (!answered) { answered = true; ack(new Error("timeout")); } }, ms) : null;
        const connection = this.connection;
        this.server.deliver(() => {
          if (!this.connected || connection !== this.connection) return;
          this.server.handle(this, event, data, (answer) => {
            this.server.deliver(() => {
              if (answered || connection !== this.connection) return;
              answered = true;
              clearTimeout(timer);
              ack(null, answer);
            });
          });
        });
      },
    };
  }

  connect() {
    this.connected = true;
    this.connection = {};
    this.server.sockets.add(this);
    (this.handlers.connect || []).forEach((fn) => fn());
  }

  disconnect() {
    this.connected = false;
    this.joined = false;
    this.connection = null;
    this.server.sockets.delete(this);
    (this.handlers.disconnect || []).forEach((fn) => fn("transport close"));
  }
}

function open(server, user, { mayEdit = true, name = user } = {}) {
  const socket = new FakeSocket(server, user);
  const events = { synced: 0, modes: [], refused: [], states: [] };
  const session = new PlanSession({
    socket, roomId: ROOM, user: { id: user, name }, mayEdit, timers: fast,
    on: {
      synced: () => { events.synced += 1; },
      mode: (canEdit) => events.modes.push(canEdit),
      refused: (message) => events.refused.push(message),
      status: (state) => events.states.push(state),
    },
  });
  socket.connect();
  return { socket, session, events };
}

async function until(check, what) {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await tick();
  }
  assert.fail("never happened: " + what);
}

const text = (session, key) => session.doc.getMap("plan").get(key);
const same = (a, b) => Buffer.from(Y.encodeStateVector(a)).equals(Buffer.from(Y.encodeStateVector(b))) &&
  JSON.stringify(a.getMap("plan").toJSON()) === JSON.stringify(b.getMap("plan").toJSON());

// Each test ends offline: a session still connected could keep resending (its retry timer)
// after the test has passed, and node would then wait for it for ever (seen once under load).
function closeAll(...people) {
  people.forEach((p) => {
    if (p.socket.connected) p.socket.disconnect();
    p.session.doc.destroy();
  });
}

test("two editors' changes reach each other and the server, and all three end identical", async () => {
  const server = new FakeServer();
  const sarah = open(server, "sarah");
  const hana = open(server, "hana");
  await until(() => sarah.session.synced && hana.session.synced, "both synced");
  assert.equal(sarah.session.state(), "live");
  text(sarah.session, "concerns").insert(0, "Neglect: no breakfast.");
  text(hana.session, "services").insert(0, "Health visiting weekly.");
  text(hana.session, "concerns").insert(0, "Mum struggling. ");
  await until(() => sarah.session.pending.length === 0 && hana.session.pending.length === 0, "all acknowledged");
  await until(() => same(sarah.session.doc, hana.session.doc) && same(sarah.session.doc, server.doc), "converged");
  assert.equal(text(hana.session, "services").toString(), "Health visiting weekly.");
  assert.match(text(sarah.session, "concerns").toString(), /Neglect: no breakfast\./);
  assert.match(text(sarah.session, "concerns").toString(), /Mum struggling\. /);
  assert.equal(sarah.session.state(), "saved");
  // Nobody answered the server's step 1 with an empty step 2 (it would count as an edit).
  assert.deepEqual(server.received.filter(([, event, type]) => event === "plan:sync" && type !== STEP1), []);
  closeAll(sarah, hana);
});

test("edits made offline are kept, and merge with others' when the connection returns", async () => {
  const server = new FakeServer();
  const sarah = open(server, "sarah");
  const hana = open(server, "hana");
  await until(() => sarah.session.synced && hana.session.synced, "both synced");
  hana.socket.disconnect();
  assert.equal(hana.session.state(), "offline");
  text(hana.session, "contingency").insert(0, "If mum is admitted, Jamie stays with his aunt.");
  const outcome = new Y.Map();
  hana.session.doc.transact(() => {
    outcome.set("id", "o-1");
    outcome.set("text", new Y.Text("Jamie goes to school fed."));
    outcome.set("actions", new Y.Array());
    hana.session.doc.getMap("plan").get("outcomes").push([outcome]);
  });
  text(sarah.session, "contingency").insert(0, "Review weekly. ");
  await until(() => sarah.session.pending.length === 0, "Sarah's change stored");
  assert.equal(hana.session.pending.length, 2);
  assert.equal(server.doc.getMap("plan").get("contingency").toString(), "Review weekly. ");

  hana.socket.connect();
  await until(() => hana.session.pending.length === 0, "Hana's queue acknowledged");
  await until(() => same(sarah.session.doc, hana.session.doc) && same(hana.session.doc, server.doc), "converged");
  const contingency = text(sarah.session, "contingency").toString();
  assert.match(contingency, /Review weekly\. /);
  assert.match(contingency, /If mum is admitted, Jamie stays with his aunt\./);
  assert.equal(sarah.session.doc.getMap("plan").get("outcomes").get(0).get("text").toString(), "Jamie goes to school fed.");
  assert.equal(hana.session.state(), "saved");
  closeAll(sarah, hana);
});

test("the server's step 1 may come before the answer to plan:join", async () => {
  const server = new FakeServer();
  server.step1First = true;
  const hana = open(server, "hana");
  await until(() => hana.session.synced, "synced");
  hana.socket.disconnect();
  text(hana.session, "seen").insert(0, "Seen alone at school on Monday.");
  hana.socket.connect();
  await until(() => hana.session.pending.length === 0, "acknowledged");
  assert.equal(server.doc.getMap("plan").get("seen").toString(), "Seen alone at school on Monday.");
  // She answered the server's step 1 with what it lacked.
  assert.ok(server.received.some(([user, event, type]) => user === "hana" && event === "plan:sync" && type !== STEP1));
  closeAll(hana);
});

test("an update whose answer was lost is sent again", async () => {
  const server = new FakeServer();
  const sarah = open(server, "sarah");
  await until(() => sarah.session.synced, "synced");
  server.dropAnswers = 1;
  text(sarah.session, "services").insert(0, "GP review booked.");
  await until(() => sarah.session.pending.length === 0, "acknowledged in the end");
  assert.ok(server.received.filter(([, event]) => event === "plan:update").length >= 2);
  assert.equal(server.doc.getMap("plan").get("services").toString(), "GP review booked.");
  closeAll(sarah);
});

test("a refused change turns the editor read only, showing what the server holds", async () => {
  const server = new FakeServer();
  server.doc.getMap("plan").get("concerns").insert(0, "Stored words.");
  const pete = open(server, "pete");
  await until(() => pete.session.synced, "synced");
  assert.equal(pete.session.canEdit, true);
  server.refuse.add("pete"); // say the room was closed meanwhile
  text(pete.session, "concerns").insert(0, "Not allowed: ");
  await until(() => pete.events.refused.length === 1, "refused");
  assert.equal(pete.events.refused[0], "You may not edit this plan.");
  assert.equal(pete.session.canEdit, false);
  assert.equal(pete.events.modes.at(-1), false);
  await until(() => pete.events.synced === 2, "a fresh copy synced");
  assert.equal(text(pete.session, "concerns").toString(), "Stored words.");
  assert.equal(server.doc.getMap("plan").get("concerns").toString(), "Stored words.");
  assert.equal(pete.session.pending.length, 0);
  closeAll(pete);
});

test("a reader receives changes live and sends nothing", async () => {
  const server = new FakeServer();
  server.readers.add("guest");
  const sarah = open(server, "sarah");
  const guest = open(server, "guest", { mayEdit: false });
  await until(() => sarah.session.synced && guest.session.synced, "both synced");
  assert.equal(guest.session.canEdit, false);
  text(sarah.session, "family_summary").insert(0, "We will help mum get Jamie to school.");
  await until(() => text(guest.session, "family_summary").toString() === "We will help mum get Jamie to school.", "reached the guest");
  sarah.session.setEditing("family_summary");
  await tick();
  await tick();
  assert.deepEqual(server.received.filter(([user, , type]) => user === "guest" && type !== STEP1), []);
  closeAll(sarah, guest);
});

test("the page saying read only wins over the server saying may edit", async () => {
  const server = new FakeServer();
  const dan = open(server, "dan", { mayEdit: false });
  await until(() => dan.session.synced, "synced");
  assert.equal(dan.session.canEdit, false);
  closeAll(dan);
});

test("each editor sees who else is here and in which field", async () => {
  const server = new FakeServer();
  const sarah = open(server, "sarah", { name: "Sarah Okafor" });
  const hana = open(server, "hana", { name: "Hana Kowalski" });
  await until(() => sarah.session.synced && hana.session.synced, "both synced");
  hana.session.setEditing("concerns");
  await until(() => sarah.session.others().some((o) => o.field === "concerns"), "Sarah sees Hana in concerns");
  assert.deepEqual(sarah.session.others().map((o) => [o.userId, o.name, o.field]), [["hana", "Hana Kowalski", "concerns"]]);
  // Hana learnt of Sarah too (she answers a newcomer's hello), though Sarah is in no field.
  await until(() => hana.session.others().some((o) => o.userId === "sarah"), "Hana sees Sarah");
  hana.session.setEditing(null);
  await until(() => sarah.session.others().every((o) => o.field === null), "Hana left the field");
  hana.session.leave();
  await until(() => sarah.session.others().length === 0, "Hana left the page");
  closeAll(sarah, hana);
});

test("changes made offline that may no longer be sent are said to be lost, not kept", async () => {
  const server = new FakeServer();
  const hana = open(server, "hana");
  await until(() => hana.session.synced, "synced");
  hana.socket.disconnect();
  text(hana.session, "services").insert(0, "Written while away.");
  server.readers.add("hana"); // say the room was closed meanwhile
  hana.socket.connect();
  await until(() => hana.events.refused.length === 1, "told");
  assert.equal(hana.events.refused[0], "You can no longer edit this plan.");
  await until(() => hana.events.synced === 2, "a fresh copy synced");
  assert.equal(text(hana.session, "services").toString(), "");
  assert.equal(hana.session.canEdit, false);
  assert.deepEqual(server.received.filter(([user, , type]) => user === "hana" && type !== STEP1), []);
  closeAll(hana);
});

test("losing the right to edit (plan:access) turns the editor read only; regaining it, back", async () => {
  const server = new FakeServer();
  const hana = open(server, "hana");
  const access = [];
  hana.session.on.access = (canEdit) => access.push(canEdit);
  await until(() => hana.session.synced, "synced");
  hana.socket.receive("plan:access", { room_id: ROOM, can_edit: false });
  await until(() => hana.session.canEdit === false, "read only");
  assert.deepEqual(access, [false]);
  assert.equal(hana.events.refused.length, 0); // nothing of hers was lost
  hana.socket.receive("plan:access", { room_id: ROOM, can_edit: true });
  await until(() => hana.session.canEdit === true, "editing again");
  assert.deepEqual(access, [false, true]);
  closeAll(hana);
});

test("removed from the room, the session closes and says so", async () => {
  const server = new FakeServer();
  const closed = [];
  const dan = open(server, "dan");
  dan.session.on.closed = (message, removed) => closed.push([message, removed]);
  await until(() => dan.session.synced, "synced");
  dan.socket.receive("member_removed", { room_id: ROOM, reason: "removed" });
  await until(() => closed.length === 1, "closed");
  assert.deepEqual(closed, [["You no longer have access to this room.", true]]);
  assert.equal(dan.session.state(), "closed");
  closeAll(dan);
});
