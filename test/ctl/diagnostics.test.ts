/**
 * `migration-ctl diagnostics ...` is handed to diagnosticsCommand (components/diagnostics):
 * the words after `diagnostics` untouched, the repository as --root-dir, --now as the clock.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DIAGNOSTICS_USAGE } from "../../components/diagnostics";
import { EXIT } from "../../components/ctl/errors";
import { TestRepo } from "./helpers";

let repo: TestRepo;
beforeEach(() => {
    repo = new TestRepo();
    repo.commit("baseline");
});
afterEach(() => repo.cleanup());

test("diagnostics --help is the diagnostics command's usage", async () => {
    expect(await repo.ctl(["diagnostics", "--help"])).toEqual({ code: EXIT.OK, stdout: DIAGNOSTICS_USAGE + "\n", stderr: "" });
});

test("a bundle is collected for a sandbox node of the dev stack of the repository given from another folder, into the state folder outside it", async () => {
    fs.mkdirSync(repo.path(".sandbox/dev/pve1"), { recursive: true });
    const saved = process.env.XDG_STATE_HOME;
    process.env.XDG_STATE_HOME = repo.aux;
    try {
        const r = await repo.ctl(["--repo", repo.dir, "--now", "2026-11-01T12:00:00Z", "diagnostics", "--stack", "dev", "--node", "pve1", "--label", "t1"], {
            cwd: os.tmpdir(),
        });
        const dir = path.join(repo.aux, "pve-network-migration", "diagnostics", "dev");
        const bundle = path.join(dir, "pve1-20261101T120000Z-t1.tar.gz");
        expect(r).toEqual({ code: 0, stdout: `bundles: ${dir} (outside the checkout, so never committed; --out DIR writes elsewhere)\npve1: ${bundle}\n`, stderr: "" });
        expect(fs.statSync(bundle).size).toBeGreaterThan(0);
        // The working tree is as committed: nothing new to add.
        expect(repo.git("status", "--porcelain", "--untracked-files=all", "--", "stacks")).toBe("");
    } finally {
        if (saved === undefined) delete process.env.XDG_STATE_HOME;
        else process.env.XDG_STATE_HOME = saved;
    }
});

test("the diagnostics command's own errors and exit codes come through", async () => {
    expect(await repo.ctl(["diagnostics", "--stack", "dev", "--node", "nope"])).toEqual({
        code: 2,
        stdout: "",
        stderr: `diagnostics: --node: "nope" is not a node of stack dev (pve1, pve2, pve3)\n${DIAGNOSTICS_USAGE}\n`,
    });
});
