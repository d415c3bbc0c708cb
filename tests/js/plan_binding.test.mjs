// The plan editor's textarea binding arithmetic (static/src/plan/textdiff.js), under plain
// node: run by tests/test_plan_editor_js.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as Y from "yjs";
import {
  diffText, displayIndex, forDisplay, rebaseEdit, shiftPosition, textIndex,
} from "../../static/src/plan/textdiff.js";

function apply(text, edit) {
  return text.slice(0, edit.index) + edit.insert + text.slice(edit.index + edit.remove);
}

test("an unchanged value is no edit", () => {
  assert.equal(diffText("same", "same", 2), null);
});

test("typing, deleting and pasting over a selection are each one range", () => {
  assert.deepEqual(diffText("Mum is", "Mum is well", 11), { index: 6, remove: 0, insert: " well" });
  assert.deepEqual(diffText("Mum is well", "Mum well", 3), { index: 3, remove: 3, insert: "" });
  assert.deepEqual(diffText("seen on Monday", "seen on Friday", 11), { index: 8, remove: 3, insert: "Fri" });
  assert.deepEqual(diffText("abc", "", 0), { index: 0, remove: 3, insert: "" });
  assert.deepEqual(diffText("", "new text", 8), { index: 0, remove: 0, insert: "new text" });
});

test("an ambiguous edit is placed where the caret is", () => {
  // "a" typed between the two a's of "aa": the caret is at 2 afterwards.
  assert.deepEqual(diffText("aa", "aaa", 2), { index: 1, remove: 0, insert: "a" });
  // "a" typed at the very start.
  assert.deepEqual(diffText("aa", "aaa", 1), { index: 0, remove: 0, insert: "a" });
  // Backspace over the middle "a" of "aaa" leaves the caret at 1.
  assert.deepEqual(diffText("aaa", "aa", 1), { index: 1, remove: 1, insert: "" });
  // Without a caret, the edit goes as early as it can.
  assert.deepEqual(diffText("aa", "aaa"), { index: 0, remove: 0, insert: "a" });
});

test("a character outside the Basic Multilingual Plane is never cut in half", () => {
  const before = "child 😀 happy";
  const after = "child 😃 happy"; // the two emoji share their high surrogate
  const edit = diffText(before, after, 8);
  assert.deepEqual(edit, { index: 6, remove: 2, insert: "😃" });
  assert.equal(apply(before, edit), after);
});

test("every edit turns the old text into the new", () => {
  const cases = [
    ["", "x", 1], ["x", "", 0], ["hello world", "hello brave world", 12], ["abcabc", "abc", 3],
    ["abcabc", "abc", 0], ["line\nline", "line\nline\nline", 14], ["aaaa", "aa", 1], ["xyz", "xAyz", 2],
  ];
  for (const [before, after, caret] of cases) {
    assert.equal(apply(before, diffText(before, after, caret)), after, `${before} -> ${after}`);
  }
});

test("a caret moves through someone else's insertion and deletion", () => {
  // Someone inserts 4 characters at 2: a caret at 5 moves to 9; at 1, it stays.
  const insert = [{ retain: 2 }, { insert: "abcd" }];
  assert.equal(shiftPosition(5, insert), 9);
  assert.equal(shiftPosition(1, insert), 1);
  // Inserted exactly at the caret: the caret stays before it unless asked to keep right.
  assert.equal(shiftPosition(2, insert), 2);
  assert.equal(shiftPosition(2, insert, true), 6);
  // Someone deletes 3 characters at 2: a caret at 10 moves to 7; inside the deletion, to 2.
  const remove = [{ retain: 2 }, { delete: 3 }];
  assert.equal(shiftPosition(10, remove), 7);
  assert.equal(shiftPosition(3, remove), 2);
  assert.equal(shiftPosition(2, remove), 2);
});

test("the caret arithmetic agrees with what Yjs does to the text", () => {
  const doc = new Y.Doc();
  const text = doc.getText("t");
  text.insert(0, "Jamie was seen at school today.");
  const caret = "Jamie was seen".length; // the person is typing after "seen"
  let delta = null;
  text.observe((event) => { delta = event.delta; });
  doc.transact(() => {
    text.delete(0, "Jamie".length);
    text.insert(0, "J.");
    text.insert("J. was seen at ".length, "the ");
  });
  const moved = shiftPosition(caret, delta);
  assert.equal(text.toString().slice(0, moved), "J. was seen");
  doc.destroy();
});

test("an input method's edit is moved through what arrived while composing", () => {
  // The box showed "the cat"; the person composed "big " at 4 while someone else put
  // "Yes, " at the start.
  const edit = diffText("the cat", "the big cat", 8);
  const rebased = rebaseEdit(edit, [[{ insert: "Yes, " }]]);
  assert.equal(apply("Yes, the cat", rebased), "Yes, the big cat");
});

test("a textarea's newlines are counted as the Y.Text counts them", () => {
  const text = "one\r\ntwo\r\nthree";
  assert.equal(forDisplay(text), "one\ntwo\nthree");
  assert.equal(textIndex(text, 4), 5); // the "t" of "two"
  assert.equal(displayIndex(text, 5), 4);
  assert.equal(textIndex(text, forDisplay(text).length), text.length);
  assert.equal(textIndex("plain", 3), 3);
  assert.equal(displayIndex("plain", 3), 3);
});
