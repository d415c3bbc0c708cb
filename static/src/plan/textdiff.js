// The arithmetic of binding a <textarea> to a Y.Text, free of the DOM and of Yjs so that
// plain node can test it (tests/js/plan_binding.test.mjs).
//
// A textarea reports only its new value after each input event: one edit (typing, a
// deletion, a paste over a selection) changes one range, which the common prefix and suffix
// of the old and new values find. Positions are in UTF-16 code units, as Y.Text counts them.

const isHighSurrogate = (code) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code) => code >= 0xdc00 && code <= 0xdfff;

/**
 * The single range that turns `before` into `after`: `{ index, remove, insert }`, or null
 * when they are the same.
 *
 * `cursor` (optional) is the caret in `after` once the edit is made. When the change is
 * ambiguous (typing "a" into "aa" could be at any of three places) the edit is taken to end
 * at the caret, which is where the person typed: other people's carets and concurrent edits
 * then stay where they belong.
 */
export function diffText(before, after, cursor) {
  if (before === after) return null;
  const shorter = Math.min(before.length, after.length);
  let suffixLimit = shorter;
  if (Number.isInteger(cursor) && cursor >= 0 && cursor <= after.length) {
    suffixLimit = Math.min(shorter, after.length - cursor);
  }
  let suffix = 0;
  while (
    suffix < suffixLimit &&
    before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
  ) suffix++;
  let prefix = 0;
  const prefixLimit = shorter - suffix;
  while (prefix < prefixLimit && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
  // Never cut a character outside the Basic Multilingual Plane (an emoji, say) in half:
  // Y.Text would store the lone halves.
  if (prefix > 0 && isHighSurrogate(before.charCodeAt(prefix - 1))) prefix--;
  if (suffix > 0 && isLowSurrogate(before.charCodeAt(before.length - suffix))) suffix--;
  return {
    index: prefix,
    remove: before.length - prefix - suffix,
    insert: after.slice(prefix, after.length - suffix),
  };
}

/**
 * Where `position` in a text is after a change described by a Yjs delta
 * (`[{retain}, {insert}, {delete}]`, as Y.Text's observe event gives it).
 *
 * Text inserted exactly at the position goes after it (the position keeps to its left)
 * unless `keepRight`: a caret stays before what someone else has just typed at it.
 */
export function shiftPosition(position, delta, keepRight = false) {
  let pos = position;
  let index = 0; // where we are in the changed text
  for (const op of delta) {
    if (index > pos) break;
    if (op.retain !== undefined) {
      index += op.retain;
    } else if (op.insert !== undefined) {
      const length = typeof op.insert === "string" ? op.insert.length : 1;
      if (index < pos || (keepRight && index === pos)) pos += length;
      index += length;
    } else if (op.delete !== undefined) {
      if (index < pos) pos -= Math.min(op.delete, pos - index);
    }
  }
  return pos;
}

/**
 * A local edit computed against an older copy of the text (`{ index, remove, insert }`,
 * from diffText), moved through the changes others made since (deltas, oldest first) so it
 * applies to the text as it is now. (Only an input method's composition is ever rebased,
 * and it replaces at most a selection: text someone else put inside that very selection
 * meanwhile goes with it.)
 */
export function rebaseEdit(edit, deltas) {
  let start = edit.index;
  let end = edit.index + edit.remove;
  for (const delta of deltas) {
    start = shiftPosition(start, delta, true);
    end = Math.max(start, shiftPosition(end, delta, false));
  }
  return { index: start, remove: end - start, insert: edit.insert };
}

// A textarea shows "\r\n" (and a lone "\r") as "\n": its value and caret count one
// character where the Y.Text, which may hold text a program sent through the API, counts two.

/** The text as a textarea shows it. */
export function forDisplay(text) {
  return text.indexOf("\r") === -1 ? text : text.replace(/\r\n?/g, "\n");
}

/** The position in `text` of position `shown` in forDisplay(text). */
export function textIndex(text, shown) {
  if (text.indexOf("\r") === -1) return Math.min(shown, text.length);
  let t = 0;
  for (let seen = 0; seen < shown && t < text.length; seen++) {
    t += text.charCodeAt(t) === 13 && text.charCodeAt(t + 1) === 10 ? 2 : 1;
  }
  return t;
}

/** The position in forDisplay(text) of position `index` in `text`. */
export function displayIndex(text, index) {
  if (text.indexOf("\r") === -1) return Math.min(index, text.length);
  let shown = 0;
  for (let t = 0; t < index && t < text.length; shown++) {
    t += text.charCodeAt(t) === 13 && text.charCodeAt(t + 1) === 10 ? 2 : 1;
  }
  return shown;
}
