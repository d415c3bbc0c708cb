// Building elements with the DOM's own methods: text only ever goes in as textContent, so
// nothing a plan holds can become markup.

let counter = 0;

/** A page-unique id for an element the editor makes (labels need one). */
export function newId(name) {
  counter += 1;
  return "pe-" + name + "-" + counter;
}

/** el("p", {className: "hint", id}, "text", child…): properties are set, strings become text. */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.entries(props || {}).forEach(([key, value]) => {
    if (value === undefined || value === null) return;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  });
  children.forEach((child) => {
    if (child === null || child === undefined || child === false) return;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  });
  return node;
}

export function option(value, text) {
  const node = document.createElement("option");
  node.value = value;
  node.textContent = text;
  return node;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A stored date ("YYYY-MM-DD") or "" for anything else (absent, or not a date). */
export function dateValue(value) {
  return typeof value === "string" && DATE.test(value) ? value : "";
}

export function isDate(value) {
  return typeof value === "string" && DATE.test(value);
}

/** A version 4 UUID for a new outcome or action. */
export function uuid() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const b = window.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}
