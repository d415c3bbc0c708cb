// The encrypted-file format of docs/file-format.md, byte for byte what the Python client
// (workspace/client/crypto.py, workspace/fileformat.py) writes and reads. Nothing here
// touches the page or the network: it takes and returns bytes, so it is the part two
// clients must agree on, and the part the interop tests exercise.
import sodiumModule from "libsodium-wrappers-sumo";

export const VERSION = 1;
export const CHUNK_SIZE = 64 * 1024;
const ABYTES = 17;
export const CIPHER_CHUNK = CHUNK_SIZE + ABYTES;
// How much plaintext to read from the file at once: large enough to be quick, small enough
// that the page gets the event loop back between slices (a 100 MB file must not freeze it).
const READ_SLICE = 16 * CHUNK_SIZE;
// Chunks are handed to the browser's blob store every few MiB, so the tab's own memory
// stays flat whatever the file's size (large blobs are kept on disk by the browser).
const SPILL = 8 * 1024 * 1024;

/** Collects byte arrays into one Blob without holding them all in the JS heap. */
class BlobSink {
  constructor(type) { this.type = type; this.blobs = []; this.parts = []; this.held = 0; }
  push(bytes) {
    this.parts.push(bytes);
    this.held += bytes.length;
    if (this.held >= SPILL) this.spill();
  }
  spill() {
    if (this.parts.length) this.blobs.push(new Blob(this.parts));
    this.parts = [];
    this.held = 0;
  }
  blob() { this.spill(); return new Blob(this.blobs, { type: this.type }); }
}

let ready = null;
/** libsodium, once its WebAssembly has loaded (CSP: 'wasm-unsafe-eval'). */
export function sodium() {
  if (!ready) ready = sodiumModule.ready.then(() => sodiumModule);
  return ready;
}

export class Tampered extends Error {}

const encoder = new TextEncoder();

export function b64(s, bytes) { return s.to_base64(bytes, s.base64_variants.ORIGINAL); }
export function unb64(s, text, size) {
  const out = s.from_base64(text, s.base64_variants.ORIGINAL);
  if (size !== undefined && out.length !== size) throw new Error(`expected ${size} bytes`);
  return out;
}
export function sha256Hex(s, bytes) { return s.to_hex(s.crypto_hash_sha256(bytes)); }

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True). */
export function canonicalJson(value) {
  const sorted = (v) => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === "object") {
      const out = {};
      for (const k of Object.keys(v).sort()) out[k] = sorted(v[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(sorted(value)).replace(
    /[\u0080-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

export function associatedData(roomId, fileId) { return encoder.encode(`${roomId}|${fileId}`); }

// --- a person's keys -------------------------------------------------------------------

export function generateKeys(s) {
  const box = s.crypto_box_keypair();
  return keysFromSecrets(s, box.privateKey, s.randombytes_buf(32));
}

export function keysFromSecrets(s, boxSecret, signSeed) {
  const sign = s.crypto_sign_seed_keypair(signSeed);
  return {
    boxSecret, signSeed, signSecret: sign.privateKey,
    boxPublic: s.crypto_scalarmult_base(boxSecret), signPublic: sign.publicKey,
  };
}

export function fingerprint(s, boxPublic, signPublic) {
  const hex = s.to_hex(s.crypto_hash_sha256(concat(boxPublic, signPublic))).slice(0, 40);
  return hex.match(/.{4}/g).join(" ");
}

function passphraseKey(s, passphrase, salt, opslimit, memlimit) {
  return s.crypto_pwhash(32, encoder.encode(passphrase), salt, opslimit, memlimit,
    s.crypto_pwhash_ALG_ARGON2ID13);
}

/** The body of PUT /me/keys: the private keys sealed under the passphrase (Argon2id). */
export function sealPrivate(s, keys, passphrase) {
  const opslimit = s.crypto_pwhash_OPSLIMIT_INTERACTIVE;
  const memlimit = s.crypto_pwhash_MEMLIMIT_INTERACTIVE;
  const salt = s.randombytes_buf(s.crypto_pwhash_SALTBYTES);
  const key = passphraseKey(s, passphrase, salt, opslimit, memlimit);
  const nonce = s.randombytes_buf(24);
  const box = s.crypto_aead_xchacha20poly1305_ietf_encrypt(
    concat(keys.boxSecret, keys.signSeed), concat(keys.boxPublic, keys.signPublic), null, nonce, key);
  return {
    box_public: b64(s, keys.boxPublic), sign_public: b64(s, keys.signPublic),
    sealed_private: b64(s, concat(nonce, box)),
    kdf: { salt: b64(s, salt), opslimit, memlimit },
  };
}

/** Opens what GET /me/keys returns; a wrong passphrase (or swapped public keys) throws. */
export function openPrivate(s, published, passphrase) {
  const raw = unb64(s, published.sealed_private);
  const boxPublic = unb64(s, published.box_public, 32);
  const signPublic = unb64(s, published.sign_public, 32);
  const kdf = published.kdf;
  const key = passphraseKey(s, passphrase, unb64(s, kdf.salt), kdf.opslimit, kdf.memlimit);
  let secret;
  try {
    secret = s.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null, raw.subarray(24), concat(boxPublic, signPublic), raw.subarray(0, 24), key);
  } catch (e) {
    throw new Error("That passphrase does not open your keys.");
  }
  return keysFromSecrets(s, secret.subarray(0, 32), secret.subarray(32, 64));
}

// --- files -----------------------------------------------------------------------------

/** Encrypts a File or Blob: 64 KiB chunks, each bound to `room_id|file_id`, the last tagged
 * FINAL. Returns the file key, the stream header, the ciphertext as a Blob (the browser
 * keeps large blobs on disk, not in the tab's memory) and its size and sha256. */
export async function encryptFile(s, file, roomId, fileId, onProgress) {
  const key = s.crypto_secretstream_xchacha20poly1305_keygen();
  const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
  const ad = associatedData(roomId, fileId);
  const hash = s.crypto_hash_sha256_init();
  const parts = new BlobSink("application/octet-stream");
  let size = 0;
  const total = file.size;
  let offset = 0;
  do {
    const slice = new Uint8Array(await file.slice(offset, offset + READ_SLICE).arrayBuffer());
    for (let at = 0; at < slice.length || (total === 0 && at === 0); at += CHUNK_SIZE) {
      const chunk = slice.subarray(at, at + CHUNK_SIZE);
      const last = offset + at + chunk.length >= total;
      const tag = last ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL
        : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
      const sealed = s.crypto_secretstream_xchacha20poly1305_push(state, chunk, ad, tag);
      s.crypto_hash_sha256_update(hash, sealed);
      parts.push(sealed);
      size += sealed.length;
      if (total === 0) break;
    }
    offset += slice.length;
    if (onProgress) onProgress(offset, total);
  } while (offset < total);
  return { key, header, size, sha256: s.to_hex(s.crypto_hash_sha256_final(hash)), blob: parts.blob() };
}

export function encryptName(s, key, name, type, roomId, fileId) {
  const nonce = s.randombytes_buf(24);
  const plain = encoder.encode(canonicalJson({ name, type }));
  const box = s.crypto_aead_xchacha20poly1305_ietf_encrypt(
    plain, associatedData(roomId, fileId), null, nonce, key);
  return b64(s, concat(nonce, box));
}

export function decryptName(s, key, encrypted, roomId, fileId) {
  const raw = unb64(s, encrypted);
  let plain;
  try {
    plain = s.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null, raw.subarray(24), associatedData(roomId, fileId), raw.subarray(0, 24), key);
  } catch (e) {
    throw new Tampered("the file's name failed authentication");
  }
  const value = JSON.parse(s.to_string(plain));
  return { name: String(value.name), type: String(value.type) };
}

export function sealKey(s, fileKey, boxPublic) {
  return b64(s, s.crypto_box_seal(fileKey, unb64(s, boxPublic, 32)));
}

export function openKey(s, keys, sealedKey) {
  try {
    return s.crypto_box_seal_open(unb64(s, sealedKey), keys.boxPublic, keys.boxSecret);
  } catch (e) {
    throw new Tampered("your sealed key does not open with your private key");
  }
}

/** The signed manifest's canonical text. `recipients`: [{user_id, box_public, sealed_key}]. */
export function manifestText(s, m) {
  const recipients = m.recipients.slice().sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0));
  return canonicalJson({
    v: VERSION, room_id: m.roomId, file_id: m.fileId, uploader_id: m.uploaderId,
    sensitivity: m.sensitivity, header: b64(s, m.header), chunk_size: CHUNK_SIZE,
    size: m.size, sha256: m.sha256, name_sha256: sha256Hex(s, unb64(s, m.encryptedName)),
    recipients: recipients.map((r) => ({
      user_id: r.user_id, box_public: r.box_public,
      sealed_key_sha256: sha256Hex(s, unb64(s, r.sealed_key)),
    })),
  });
}

export function sign(s, keys, text) {
  return b64(s, s.crypto_sign_detached(encoder.encode(text), keys.signSecret));
}

/** GET /files/{id}'s answer, checked as docs/file-format.md §5 says; returns the manifest. */
export function verifiedManifest(s, meta, fileId) {
  if (!meta.uploader_sign_public) throw new Tampered("the uploader has no signing key");
  const raw = String(meta.manifest);
  let ok = false;
  try {
    ok = s.crypto_sign_verify_detached(unb64(s, meta.signature, 64), encoder.encode(raw),
      unb64(s, meta.uploader_sign_public, 32));
  } catch (e) { ok = false; }
  if (!ok) throw new Tampered("the manifest's signature does not verify");
  const manifest = JSON.parse(raw);
  if (canonicalJson(manifest) !== raw) throw new Tampered("the manifest is not in its canonical form");
  const expected = {
    v: VERSION, file_id: fileId, room_id: meta.room_id, uploader_id: meta.uploader.id,
    chunk_size: CHUNK_SIZE, size: meta.size, sha256: meta.sha256,
    name_sha256: sha256Hex(s, unb64(s, meta.encrypted_name)),
  };
  const wrong = Object.keys(expected).filter((k) => manifest[k] !== expected[k]);
  if (wrong.length) throw new Tampered(`the manifest does not match the file (${wrong.join(", ")})`);
  return manifest;
}

/** Pulls every chunk of a ciphertext stream (a ReadableStream of Uint8Array): each must
 * authenticate, in order, bound to this room and file; the stream must end exactly at the
 * FINAL chunk, with the manifest's size and sha256. Returns the plaintext as a Blob. */
export async function decryptStream(s, stream, key, manifest, type, onProgress) {
  let state;
  try {
    state = s.crypto_secretstream_xchacha20poly1305_init_pull(unb64(s, manifest.header, 24), key);
  } catch (e) {
    throw new Tampered("the stream header is not valid for this key");
  }
  const ad = associatedData(manifest.room_id, manifest.file_id);
  const hash = s.crypto_hash_sha256_init();
  const parts = new BlobSink(type);
  let size = 0;
  let finished = false;
  let pending = new Uint8Array(0);
  const pull = (chunk) => {
    if (finished) throw new Tampered("there is data after the final chunk");
    s.crypto_hash_sha256_update(hash, chunk);
    size += chunk.length;
    const out = s.crypto_secretstream_xchacha20poly1305_pull(state, chunk, ad);
    if (!out) throw new Tampered(`a chunk failed authentication (at byte ${size - chunk.length})`);
    parts.push(out.message);
    finished = out.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  };
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending = pending.length ? concat(pending, value) : value;
    let at = 0;
    while (pending.length - at >= CIPHER_CHUNK) {
      pull(pending.slice(at, at + CIPHER_CHUNK));
      at += CIPHER_CHUNK;
    }
    pending = pending.slice(at);
    if (onProgress) onProgress(size + pending.length, manifest.size);
  }
  if (pending.length) pull(pending);
  if (!finished) throw new Tampered("the file was cut short (no final chunk)");
  if (size !== manifest.size || s.to_hex(s.crypto_hash_sha256_final(hash)) !== manifest.sha256) {
    throw new Tampered("the ciphertext's size or sha256 is not the manifest's");
  }
  return parts.blob();
}
