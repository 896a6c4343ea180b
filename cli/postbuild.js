#!/usr/bin/env node
// The second half of `npm run build`, after tsc: copy the files the compiled code reads next to
// itself (the node-side shell scripts, read through __dirname) into dist/, which tsc does not
// copy, and make the compiled bins executable (tsc keeps their #! line, not a mode), so that
// dist/bin/<tool>.js runs on its own as npm's bin links do.
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
for (const dir of ["components/scripts/sh", "lab/sh"]) {
    fs.cpSync(path.join(root, dir), path.join(root, "dist", dir), { recursive: true });
}
const bin = path.join(root, "dist", "bin");
for (const f of fs.readdirSync(bin)) if (f.endsWith(".js")) fs.chmodSync(path.join(bin, f), 0o755);
