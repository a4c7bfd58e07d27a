#!/usr/bin/env node
// Launcher: the CLI lives in dist/src/cli.js (built by `npm run build`).
import("../dist/src/cli.js").then((m) => m.main(process.argv)).catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(1);
});
