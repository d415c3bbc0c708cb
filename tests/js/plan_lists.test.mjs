// The plan editor's lists (static/src/plan/lists.js) while others change them: removing an
// outcome or action, and changing a review date, reach the entry meant even after someone
// else added or removed entries above it. Run by tests/test_plan_editor_js.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as Y from "yjs";
import { findEntry, firstWords, removeItem, replayDelta } from "../../static/src/plan/lists.js";

function item(doc, id) {
  const map = new Y.Map();
  map.set("id", id);
  map.set("text", new Y.Text(id + " words"));
  return map;
}

/** Two replicas kept in step, like two browsers through the server. */
function pair() {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on("update", (u, origin) => { if (origin !== "b") Y.applyUpdate(b, u, "a"); });
  b.on("update", (u, origin) => { if (origin !== "a") Y.applyUpdate(a, u, "b"); });
  return [a, b];
}

test("an action is removed where it now is, not where it was", () => {
  const [a, b] = pair();
  const mine = a.getArray("actions");
  a.transact(() => mine.push(["one", "two", "three"].map((id) => item(a, id))));
  const target = mine.get(1); // "two", seen at index 1
  // Someone else removes "one" above it before the removal is made.
  b.transact(() => b.getArray("actions").delete(0, 1), "b");
  a.transact(() => assert.equal(removeItem(mine, target), true));
  const left = (doc) => doc.getArray("actions").toArray().map((m) => m.get("id"));
  assert.deepEqual(left(a), ["three"]);
  assert.deepEqual(left(b), ["three"]);
});

test("removing what someone else already removed changes nothing", () => {
  const doc = new Y.Doc();
  const outcomes = doc.getArray("outcomes");
  doc.transact(() => outcomes.push([item(doc, "one"), item(doc, "two")]));
  const gone = outcomes.get(0);
  doc.transact(() => outcomes.delete(0, 1));
  doc.transact(() => assert.equal(removeItem(outcomes, gone), false));
  assert.deepEqual(outcomes.toArray().map((m) => m.get("id")), ["two"]);
});

test("a review date is found where it now is, the nearest of two the same, or not at all", () => {
  const dates = ["2027-01-10", "2027-02-10", "2027-03-10"];
  assert.equal(findEntry(dates, "2027-02-10", 1), 1);
  // The first was removed meanwhile: "2027-02-10", seen at 1, is now at 0.
  assert.equal(findEntry(dates.slice(1), "2027-02-10", 1), 0);
  // One was added at the start meanwhile.
  assert.equal(findEntry(["2026-12-01", ...dates], "2027-02-10", 1), 2);
  // The same date twice: the one nearest where it was seen.
  assert.equal(findEntry(["2027-05-01", "2027-01-01", "2027-05-01", "2027-06-01"], "2027-05-01", 3), 2);
  // Someone else changed it meanwhile: theirs stands.
  assert.equal(findEntry(["2027-01-10", "2027-02-11"], "2027-02-10", 1), -1);
});

test("rows follow their entries through others' insertions, deletions and changes", () => {
  const doc = new Y.Doc();
  const reviews = doc.getArray("reviews");
  const rows = [];
  let made = 0;
  reviews.observe((event) => replayDelta(rows, event.changes.delta, (value) => ({ value, n: made++ }), (row) => { row.dropped = true; }));
  reviews.push(["a", "b", "c"]);
  const [rowA, rowB, rowC] = rows;
  reviews.delete(0, 1); // someone removes "a"
  assert.deepEqual(rows, [rowB, rowC]);
  assert.equal(rowA.dropped, true);
  reviews.insert(0, ["z"]); // someone adds a date first
  assert.deepEqual(rows.slice(1), [rowB, rowC]);
  doc.transact(() => { reviews.delete(1, 1); reviews.insert(1, ["b2"]); }); // "b" changed in place
  assert.deepEqual(rows.slice(1), [rowB, rowC]);
  assert.equal(rowB.dropped, undefined);
  assert.equal(rows.length, reviews.length);
});

test("an outcome or action is named by its first words", () => {
  assert.equal(firstWords(new Y.Doc().getText("t")), "");
  const doc = new Y.Doc();
  const text = doc.getText("t");
  text.insert(0, "  Jamie arrives at school fed and in clean clothes. ");
  assert.equal(firstWords(text), "Jamie arrives at school fed and…");
  assert.equal(firstWords("not a text"), "");
});
