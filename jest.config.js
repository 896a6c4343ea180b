// Three jest projects: "unit" (pure and mock tests) and "real" (real tools and daemons), each run
// in parallel workers (`npm run test:unit`, `npm run test:real`), and "serial" (the node lab and the
// wall-clock bounds), run one file at a time (`npm run test:serial`). Which file is which is read
// from the file and listed in test/kinds.js. `npx jest test/<path>` runs a file in whichever
// project lists it.
const fs = require("fs");
const path = require("path");
const { UNIT, REAL, SERIAL } = require("./test/kinds");

function testFiles(dir) {
    return fs.readdirSync(path.join(__dirname, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) return testFiles(rel);
        return e.name.endsWith(".test.ts") ? [rel] : [];
    });
}

const found = testFiles("test");
const listed = [...UNIT, ...REAL, ...SERIAL];
const unlisted = found.filter((f) => !listed.includes(f));
const missing = listed.filter((f) => !found.includes(f));
const twice = listed.filter((f, i) => listed.indexOf(f) !== i);
if (unlisted.length || missing.length || twice.length) {
    const say = (what, files) => (files.length ? [`${what}: ${files.join(", ")}`] : []);
    throw new Error(
        [
            "test/kinds.js does not match the test files:",
            ...say("not listed (add each to UNIT, REAL or SERIAL)", unlisted),
            ...say("listed but not found", missing),
            ...say("in two lists", twice),
        ].join("\n  "),
    );
}

const project = (displayName, files) => ({
    displayName,
    preset: "ts-jest",
    testEnvironment: "node",
    testMatch: files.map((f) => `<rootDir>/${f}`),
    // Type checking is done once by `tsc --noEmit` in `npm test`; ts-jest only transpiles.
    transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true, diagnostics: false }] },
});

/** @type {import('jest').Config} */
module.exports = {
    projects: [project("unit", UNIT), project("real", REAL), project("serial", SERIAL)],
    testTimeout: 120000,
    reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
