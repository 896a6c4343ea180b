/**
 * `migration-ctl diagnostics collect|compare`: ordinary sub-commands; collect takes the
 * repository (--repo, or found from the current folder) as the root and --now as the clock.
 */
import * as fs from "fs";
import * as os from "os";
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
    expect(r.stdout.slice(at).split("\n").slice(2, 4).map((l) => l.trim().split(/\s{2,}/))).toEqual([
        ["collect [options]", "collect a diagnostics bundle from every node (or --node) of a stack"],
        ["compare [options] <A.tar.gz> <B.tar.gz>", "what changed between two bundles"],
    ]);
    expect((await repo.ctl(["diagnostics", "collect", "--help"])).stdout).toBe(help("diagnostics collect"));
});

test("a bundle is collected for a sandbox node of the dev stack, into the repository found from another folder", async () => {
    fs.mkdirSync(repo.path(".sandbox/dev/pve1"), { recursive: true });
    const r = await repo.ctl(["--repo", repo.dir, "--now", "2026-11-01T12:00:00Z", "diagnostics", "collect", "--stack", "dev", "--node", "pve1", "--label", "t1"], {
        cwd: os.tmpdir(),
    });
    const bundle = repo.path("stacks/evidence/dev/diagnostics/pve1-20261101T120000Z-t1.tar.gz");
    expect(r).toEqual({ code: 0, stdout: `pve1: ${bundle}\n`, stderr: "" });
    expect(fs.statSync(bundle).size).toBeGreaterThan(0);
});

test("diagnostics collect: a bad --node is one usage line (exit 2); global flags may come after the words", async () => {
    expect(await repo.ctl(["diagnostics", "collect", "--stack", "dev", "--node", "nope", "--now", "2026-11-01T12:00:00Z"])).toEqual({
        code: EXIT.USAGE,
        stdout: "",
        stderr: 'migration-ctl: --node: "nope" is not a node of stack dev (pve1, pve2, pve3) (see migration-ctl diagnostics collect --help)\n',
    });
});
