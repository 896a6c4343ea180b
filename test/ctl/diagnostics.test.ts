/**
 * `migration-ctl diagnostics collect|compare`: ordinary sub-commands; collect takes the
 * repository (--repo, or found from the current folder) as the root and --now as the clock.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { help } from "../../cli/migration-ctl";
import { EXIT } from "../../components/ctl/errors";
import { TestRepo } from "./helpers";

let repo: TestRepo;
beforeEach(() => {
    repo = new TestRepo();
    repo.commit("baseline");
});
afterEach(() => repo.cleanup());

test("diagnostics --help lists collect and compare; each has its own help", async () => {
    const r = await repo.ctl(["diagnostics", "--help"]);
    expect(r).toEqual({ code: EXIT.OK, stdout: help("diagnostics"), stderr: "" });
    const at = r.stdout.indexOf("\nCommands:\n");
    expect(
        r.stdout
            .slice(at)
            .split("\n")
            .slice(2, 4)
            .map((l) => l.trim().split(/\s{2,}/)),
    ).toEqual([
        ["collect [options]", "collect a diagnostics bundle from every node (or --node) of a stack"],
        ["compare [options] <A.tar.gz> <B.tar.gz>", "what changed between two bundles"],
    ]);
    expect((await repo.ctl(["diagnostics", "collect", "--help"])).stdout).toBe(help("diagnostics collect"));
});

test("a bundle is collected for a sandbox node of the dev stack of the repository given from another folder, into the state folder outside it", async () => {
    fs.mkdirSync(repo.path(".sandbox/dev/pve1"), { recursive: true });
    const saved = process.env.XDG_STATE_HOME;
    process.env.XDG_STATE_HOME = repo.aux;
    try {
        const r = await repo.ctl(
            ["--repo", repo.dir, "--now", "2026-11-01T12:00:00Z", "diagnostics", "collect", "--stack", "dev", "--node", "pve1", "--label", "t1"],
            {
                cwd: os.tmpdir(),
            },
        );
        const dir = path.join(repo.aux, "pve-network-migration", "diagnostics", "dev");
        const bundle = path.join(dir, "pve1-20261101T120000Z-t1.tar.gz");
        expect(r).toEqual({
            code: 0,
            stdout: `bundles: ${dir} (outside the checkout, so never committed; --out DIR writes elsewhere)\npve1: ${bundle}\n`,
            stderr: "",
        });
        expect(fs.statSync(bundle).size).toBeGreaterThan(0);
        // The working tree is as committed: nothing new to add.
        expect(repo.git("status", "--porcelain", "--untracked-files=all", "--", "stacks")).toBe("");
    } finally {
        if (saved === undefined) delete process.env.XDG_STATE_HOME;
        else process.env.XDG_STATE_HOME = saved;
    }
});

test("diagnostics collect: a bad --node is one usage line (exit 2); global flags may come after the words", async () => {
    expect(await repo.ctl(["diagnostics", "collect", "--stack", "dev", "--node", "nope", "--now", "2026-11-01T12:00:00Z"])).toEqual({
        code: EXIT.USAGE,
        stdout: "",
        stderr: 'migration-ctl: --node: "nope" is not a node of stack dev (pve1, pve2, pve3) (see migration-ctl diagnostics collect --help)\n',
    });
});
