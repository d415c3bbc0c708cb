// Lists in the plan that others change while this person works on them: outcomes, actions
// and review dates. An index read a moment ago can point at another entry by the time it
// is used (someone removed or added one above it), so each change looks its entry up again,
// inside the transaction that makes it.
import * as Y from "yjs";

/**
 * Delete `item` (a Y.Map) from `yarray` wherever it now is; false if it is already gone.
 * Call inside a transaction, so that nothing can move it between finding and deleting.
 */
export function removeItem(yarray, item) {
  const i = yarray.toArray().indexOf(item);
  if (i === -1) return false;
  yarray.delete(i, 1);
  return true;
}

/**
 * Where the entry that held `old` at position `near` is now, in `values`: `near` itself if
 * it still holds `old`, else the nearest position that does (the same date can be there
 * twice), or -1 if none does (someone else changed or removed it: theirs stands).
 */
export function findEntry(values, old, near) {
  if (values[near] === old) return near;
  let best = -1;
  values.forEach((value, i) => {
    if (value === old && (best === -1 || Math.abs(i - near) < Math.abs(best - near))) best = i;
  });
  return best;
}

/**
 * Replay a Y.Array event's delta on `rows`, the list drawn for the array before it: rows
 * stay with their entries as others insert and delete around them. Entries deleted and
 * inserted in one place (a date changed) keep their rows, to be given the new values (a
 * focused input keeps its focus). make(value) -> a new row; drop(row) ends one.
 */
export function replayDelta(rows, delta, make, drop) {
  let at = 0;
  let removed = 0; // the run of deletions and insertions since the last retain
  let added = [];
  const settle = () => {
    const old = rows.splice(at, removed);
    const fresh = added.map((value, i) => (i < old.length ? old[i] : make(value)));
    old.slice(fresh.length).forEach(drop);
    rows.splice(at, 0, ...fresh);
    at += fresh.length;
    removed = 0;
    added = [];
  };
  delta.forEach((part) => {
    if (part.retain !== undefined) {
      settle();
      at += part.retain;
    } else if (part.delete !== undefined) {
      removed += part.delete;
    } else if (part.insert !== undefined) {
      added = added.concat(part.insert);
    }
  });
  settle();
  return rows;
}

/** The first few words of a Y.Text (or of anything else: nothing), for naming a button. */
export function firstWords(text, count = 6) {
  const words = text instanceof Y.Text ? text.toString().trim().split(/\s+/).filter(Boolean) : [];
  if (words.length === 0) return "";
  return words.slice(0, count).join(" ") + (words.length > count ? "…" : "");
}
