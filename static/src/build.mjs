// Bundles the browser code into static/build/ (run by `make install` after `npm ci`):
// the encrypted files and keys (caseroom-files.js) and the co-edited plan (caseroom-plan.js).
import { build } from "esbuild";

const bundles = [
  { entry: "static/src/main.js", out: "static/build/caseroom-files.js" },
  { entry: "static/src/plan/main.js", out: "static/build/caseroom-plan.js" },
];

await Promise.all(bundles.map(({ entry, out }) => build({
  entryPoints: [entry],
  outfile: out,
  bundle: true,
  format: "iife",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning",
})));
