// Two jest projects: "unit" (pure and mock tests, run in parallel workers by `npm run test:unit`)
// and "real" (real tools and daemons, run one file at a time by `npm run test:real`). Which file is
// which is read from the file and listed in test/kinds.js. `npx jest test/<path>` runs a file in
// whichever project lists it.
const fs = require("fs");
const path = require("path");
const { UNIT, REAL } = require("./test/kinds");

function testFiles(dir) {
    return fs.readdirSync(path.join(__dirname, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) return testFiles(rel);
        return e.name.endsWith(".test.ts") ? [rel] : [];
    });
}

const found = testFiles("test");
const listed = [...UNIT, ...REAL];
const unlisted = found.filter((f) => !listed.includes(f));
const missing = listed.filter((f) => !found.includes(f));
const twice = UNIT.filter((f) => REAL.includes(f));
if (unlisted.length || missing.length || twice.length) {
    const say = (what, files) => (files.length ? [`${what}: ${files.join(", ")}`] : []);
    throw new Error(
        [
            "test/kinds.js does not match the test files:",
            ...say("not listed (add each to UNIT or REAL)", unlisted),
            ...say("listed but not found", missing),
            ...say("in both UNIT and REAL", twice),
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
    projects: [project("unit", UNIT), project("real", REAL)],
    testTimeout: 120000,
    reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
