// Entry point of static/build/caseroom-files.js (built by `make install`: npm ci, then
// esbuild from package-lock.json). Pages without a keys panel, Files section, concern
// photos or the concern form load it but do nothing.
import * as files from "./files.js";
import * as keys from "./keys.js";
import * as photos from "./photos.js";

function ready(fn) {
  if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
}

ready(() => {
  const panel = document.querySelector("[data-keys-panel]");
  if (panel) keys.setUp(panel);
  const section = document.querySelector("[data-files]");
  if (section) files.setUp(section);
  document.querySelectorAll("[data-photos]").forEach((list) => photos.setUpList(list));
  const concern = document.getElementById("concern-form");
  if (concern && concern.querySelector("[data-concern-photos]")) photos.setUpConcern(concern);
});
