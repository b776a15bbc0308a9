#!/usr/bin/env node
"use strict";
// Launcher: the compiled CLI lives in dist/ (built by `npm install` through
// the package's prepare script, or `npm run build`).
const fs = require("fs");
const path = require("path");

const entry = path.join(__dirname, "..", "dist", "cli", "main.js");
if (!fs.existsSync(entry)) {
  process.stderr.write("tscolab: the package is not built yet; run `npm run build` in " + path.dirname(__dirname) + "\n");
  process.exit(1);
}
require(entry)
  .main()
  .then(
    (code) => {
      if (code < 0) return; // the kernel keeps running
      // Exit once stdout has drained: engines may leave timers behind.
      process.stdout.write("", () => process.exit(code));
    },
    (e) => {
      process.stderr.write(`tscolab: ${(e && e.stack) || e}\n`);
      process.exit(1);
    },
  );
