#!/usr/bin/env node
// Part of `npm run build`: copy the files the compiled code reads next to itself (the node-side
// shell scripts, read through __dirname) into dist/, which tsc does not copy.
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
for (const dir of ["components/scripts/sh", "lab/sh"]) {
    fs.cpSync(path.join(root, dir), path.join(root, "dist", dir), { recursive: true });
}
