// The pages' scripts. Each page under serving/web/static imports the operations it calls from
// "platform-api": the client @hey-api/openapi-ts generated from docs/openapi.json (make fills
// API_DIR). esbuild compiles that client to one JavaScript module, then bundles each page with it
// into OUT_DIR. A page importing an operation the document no longer has fails the second step
// ("No matching export"), and a test keeps the document equal to the API's, so the pages and
// the API cannot drift.
// Usage: NODE_MODULES=.cache/node/node_modules node ops/node/build_web.mjs API_DIR OUT_DIR
import { createRequire } from "node:module";
import { resolve } from "node:path";

const require = createRequire(`${resolve(process.env.NODE_MODULES)}/`);
const esbuild = require("esbuild");
const [apiDir, outDir] = process.argv.slice(2).map((p) => resolve(p));
const PAGES = ["home", "player", "studio", "console"];
const client = `${outDir}/platform-api.mjs`;

// The operations and the client they share, as plain JavaScript: its exports are exactly the
// document's operations (types erased), so a missing one is an error, not an assumed type.
await esbuild.build({
  stdin: { contents: 'export * from "./index.ts"; export { client } from "./client.gen.ts";', resolveDir: apiDir, loader: "js" },
  outfile: client,
  bundle: true,
  format: "esm",
  target: "es2022",
  logLevel: "warning",
});

await esbuild.build({
  entryPoints: PAGES.map((page) => `serving/web/static/${page}.js`),
  outdir: outDir,
  bundle: true,
  format: "iife",
  minify: true,
  sourcemap: "linked",
  target: "es2022",
  alias: { "platform-api": client },
  logLevel: "warning",
});
