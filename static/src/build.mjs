// Bundles the browser code into static/build/ (run by `make install` after `npm ci`).
import { build } from "esbuild";

await build({
  entryPoints: ["static/src/main.js"],
  outfile: "static/build/caseroom-files.js",
  bundle: true,
  format: "iife",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning",
});
