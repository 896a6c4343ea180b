/**
 * The rollback matrix (test/node/rollback-matrix-*.test.ts): roll back from every phase to every
 * lower phase on real sandbox roots (dpkg, bash, systemctl --root). Rust "writes" configuration in
 * every write phase it passes through; a rollback that leaves the write phases must restore the
 * Perl-era files byte for byte, and one that stays in them must leave Rust's files alone. Two
 * files share the 15 rollbacks so that two jest workers run them side by side.
 */
import * as fs from "fs";
import * as path from "path";
import { PHASES, Phase, phaseIndex, phaseInfo, transition } from "../../components/phases";
import { configFiles, isEnabled, makeLab, mustRun, results, simulateRustWrites, tomlAt } from "./node";

/** Every rollback: (from, to) with to below from. */
export const ROLLBACKS: [Phase, Phase][] = [];
for (const from of PHASES) for (const to of PHASES) if (phaseIndex(to) < phaseIndex(from)) ROLLBACKS.push([from, to]);

/** The rollbacks that leave the write phases (to perl-only or rust-read-only: a restore), and those that stay in them. */
export const LEAVING = ROLLBACKS.filter(([, to]) => !phaseInfo(to).write);
export const STAYING = ROLLBACKS.filter(([, to]) => phaseInfo(to).write);

/** Define the tests of `pairs`. */
export function rollbackMatrix(pairs: [Phase, Phase][]): void {
    describe.each(pairs)("rollback %s -> %s (2 nodes, cluster-wide config)", (from, to) => {
        test("reaches the lower phase with the right files, units and log", () => {
            const lab = makeLab(["pve1", "pve2"]);
            try {
                mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
                const perlEra = Object.fromEntries(lab.nodes.map((n) => [n, configFiles(lab.root(n), n)]));
                let cur: Phase = "perl-only";
                for (let i = 1; i <= phaseIndex(from); i++) {
                    const next = PHASES[i];
                    mustRun(lab.config(next), cur, next, `c0c${i}`);
                    if (phaseInfo(next).write) for (const n of lab.nodes) simulateRustWrites(lab.root(n), n, next);
                    cur = next;
                }
                const rustEra = Object.fromEntries(lab.nodes.map((n) => [n, configFiles(lab.root(n), n)]));
                const runs = mustRun(lab.config(to), from, to, "dead");
                const t = transition(from, to);
                const kinds = runs.filter((r) => r.id.startsWith("pve1-") || r.id.startsWith("lab-")).map((r) => r.id);
                expect(kinds).toEqual(
                    t.restoreRequired
                        ? [
                              "pve1-snapshot",
                              "lab-cluster-config",
                              "pve1-services",
                              "pve1-package",
                              "pve1-units",
                              "pve1-restore",
                              "lab-cluster-restore",
                              "pve1-legacy-apply",
                              "pve1-network-confirm",
                              "pve1-verify",
                          ]
                        : [
                              "pve1-snapshot",
                              "lab-cluster-config",
                              "pve1-services",
                              "pve1-package",
                              "pve1-units",
                              "pve1-legacy-apply",
                              "pve1-network-confirm",
                              "pve1-verify",
                          ],
                );
                expect(tomlAt(path.join(lab.sandbox, "cluster-pve/network/migration.toml")).phase).toBe(to);
                for (const n of lab.nodes) {
                    const root = lab.root(n);
                    expect(isEnabled(root)).toBe(phaseInfo(to).rustDaemon);
                    expect(configFiles(root, n)).toEqual(t.restoreRequired ? perlEra[n] : rustEra[n]);
                    const snap = runs.find((r) => r.id === `${n}-snapshot`)?.stdout ?? "";
                    expect(snap).toContain(t.backupRequired ? "result=changed detail=backup " : "result=unchanged detail=transition dead recorded");
                    const log = fs.readFileSync(path.join(root, "var/log/pve-network/migration.log"), "utf8");
                    const lines = log.split("\n").filter((l) => l.includes(`from=${from} to=${to} `));
                    expect(lines.every((l) => / result=(changed|unchanged|ok) /.test(l))).toBe(true);
                    expect(lines).toHaveLength(n === "pve1" ? kinds.length : kinds.length - (t.restoreRequired ? 2 : 1));
                }
                expect(results(runs).some((r) => r.endsWith(":failed"))).toBe(false);
            } finally {
                lab.cleanup();
            }
        });
    });
}
