// The bytes of plan:sync and plan:update: y-protocols sync messages inside the outer
// "sync" message type, as y-websocket and pycrdt frame them ([0, 0, state vector] is step 1,
// [0, 1, update] step 2, [0, 2, update] an update). No DOM here: node tests import it.
import * as Y from "yjs";
import * as syncProtocol from "y-protocols/sync";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";

const MESSAGE_SYNC = 0;
export const STEP1 = syncProtocol.messageYjsSyncStep1;
export const STEP2 = syncProtocol.messageYjsSyncStep2;
export const UPDATE = syncProtocol.messageYjsUpdate;

/** socket.io hands binary data to the browser as an ArrayBuffer (node: a Buffer). */
export function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("expected binary data");
}

function frame(write) {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

/** Step 1: what this copy of the document holds (its state vector). */
export function syncStep1(doc) {
  return frame((encoder) => syncProtocol.writeSyncStep1(encoder, doc));
}

/** Step 2: what this copy holds that the other side's state vector lacks. */
export function syncStep2(doc, stateVector) {
  return frame((encoder) => syncProtocol.writeSyncStep2(encoder, doc, stateVector));
}

/** An update (a change made here) as a message. */
export function updateMessage(update) {
  return frame((encoder) => syncProtocol.writeUpdate(encoder, update));
}

/**
 * Read a sync message: `{ type, payload }`, where payload is the state vector of a step 1
 * or the update of a step 2 or update. Anything else throws.
 */
export function readMessage(data) {
  const decoder = decoding.createDecoder(toBytes(data));
  if (decoding.readVarUint(decoder) !== MESSAGE_SYNC) throw new Error("not a sync message");
  const type = decoding.readVarUint(decoder);
  if (type !== STEP1 && type !== STEP2 && type !== UPDATE) throw new Error("unknown sync message");
  return { type, payload: decoding.readVarUint8Array(decoder) };
}

/** An update that changes nothing: no new items and no deletions. */
export function isEmptyUpdate(update) {
  const { structs, ds } = Y.decodeUpdate(update);
  return structs.length === 0 && ds.clients.size === 0;
}
