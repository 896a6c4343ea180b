/**
 * `migration-ctl color get|set|flip`: the blue-green active color in pve-migration:blueGreen,
 * decided by components/bluegreen, written in place like phase set.
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { EXIT } from "../../components/ctl/errors";
import { FIXTURES, TestRepo } from "./helpers";

const FILE = "stacks/Pulumi.bg.yaml";
const NOW = "2026-11-01T12:00:00Z";
let repo: TestRepo;
let original: string;

beforeEach(() => {
    repo = new TestRepo();
    original = fs.readFileSync(path.join(FIXTURES, "Pulumi.bg.yaml"), "utf8");
    repo.write(FILE, original);
    repo.commit("baseline");
});
afterEach(() => repo.cleanup());

const blueGreen = () => (YAML.parse(repo.read(FILE)) as { config: Record<string, Record<string, unknown>> }).config["pve-migration:blueGreen"];

test("color get", async () => {
    expect(await repo.ctl(["color", "get", "--stack", "bg", "--now", NOW])).toEqual({
        code: EXIT.OK,
        stderr: "",
        stdout: "active: blue\nblue: active, version 0.4.2, image tag 0.4.2, replicas 2\ngreen: idle, version 0.5.0, image tag 0.5.0, replicas 2\nlast flip: none recorded\n",
    });
    const j = JSON.parse((await repo.ctl(["color", "get", "--stack", "bg", "--json", "--now", NOW])).stdout);
    expect(j).toMatchObject({ schemaVersion: 1, command: "color get", stack: "bg", activeColor: "blue", idleColor: "green", rollbackTarget: null, lastFlip: null });
});

test("color flip writes activeColor, lastFlip and rollbackTarget in place; everything else byte for byte", async () => {
    const r = await repo.ctl(["color", "flip", "--stack", "bg", "--now", NOW]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toBe("");
    const expected = original
        .replace("    activeColor: blue    # traffic goes here\n", "    activeColor: green    # traffic goes here\n")
        .replace(
            "    idleScaleDownAfterSeconds: 1800\n",
            '    idleScaleDownAfterSeconds: 1800\n    lastFlip:\n      at: "2026-11-01T12:00:00Z"\n      from: blue\n      version: "0.4.2"\n      imageTag: "0.4.2"\n    rollbackTarget: true\n',
        );
    expect(repo.read(FILE)).toBe(expected);
    expect(r.stdout).toContain("-    activeColor: blue    # traffic goes here\n+    activeColor: green    # traffic goes here\n");
    expect(r.stdout).toContain(
        "bg: pve-migration:blueGreen.activeColor: blue -> green at 2026-11-01T12:00:00Z; blue (0.4.2) is the rollback target until pve-migration:blueGreen.rollbackTarget is set to false, then scales down 1800s after the flip\n",
    );

    // Flip back an hour later: the recorded flip is rewritten key by key.
    const back = await repo.ctl(["color", "flip", "--stack", "bg", "--now", "2026-11-01T13:00:00Z"]);
    expect(back.code).toBe(EXIT.OK);
    expect(blueGreen()).toMatchObject({
        activeColor: "blue",
        lastFlip: { at: "2026-11-01T13:00:00Z", from: "green", version: "0.5.0", imageTag: "0.5.0" },
        rollbackTarget: true,
    });
    expect(repo.read(FILE).split("\n").length).toBe(expected.split("\n").length);
});

test("color set to the active color changes nothing; --dry-run writes nothing", async () => {
    expect(await repo.ctl(["color", "set", "blue", "--stack", "bg", "--now", NOW])).toEqual({
        code: EXIT.OK,
        stderr: "",
        stdout: "bg: pve-migration:blueGreen.activeColor is already blue; nothing to change\n",
    });
    const r = await repo.ctl(["color", "set", "green", "--stack", "bg", "--now", NOW, "--dry-run"]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain("(dry run: stacks/Pulumi.bg.yaml not written)\n");
    expect(repo.read(FILE)).toBe(original);
});

test("a flip components/bluegreen refuses is exit 8, file untouched", async () => {
    repo.write(FILE, original.replace('green: { version: "0.5.0", imageTag: "0.5.0", replicas: 2 }', 'green: { version: "0.5.0", imageTag: "0.5.0", replicas: 0 }'));
    const before = repo.read(FILE);
    expect(await repo.ctl(["color", "flip", "--stack", "bg", "--now", NOW])).toEqual({
        code: EXIT.REFUSED,
        stdout: "",
        stderr: "migration-ctl: refused: color flip on bg\n  - cannot flip to green: pve-migration:blueGreen.releases.green.replicas is 0\n",
    });
    expect(repo.read(FILE)).toBe(before);
});

test("unknown color: exit 4; a stack without blueGreen: exit 2 (usage) naming the key and the stacks that have it; an invalid one: exit 6", async () => {
    expect(await repo.ctl(["color", "set", "purple", "--stack", "bg"])).toEqual({
        code: EXIT.UNKNOWN_VALUE,
        stdout: "",
        stderr: 'migration-ctl: color set: unknown color "purple" (one of blue, green)\n',
    });
    expect(await repo.ctl(["color", "get", "--stack", "canary-b"])).toEqual({
        code: EXIT.USAGE,
        stdout: "",
        stderr: "migration-ctl: color get: --stack canary-b: stacks/Pulumi.canary-b.yaml does not set pve-migration:blueGreen, so canary-b has no blue-green releases (stacks that have: bg, canary-a, prod)\n",
    });
    const before = repo.read("stacks/Pulumi.dev.yaml");
    expect(await repo.ctl(["color", "flip", "--stack", "dev"])).toEqual({
        code: EXIT.USAGE,
        stdout: "",
        stderr: "migration-ctl: color flip: --stack dev: stacks/Pulumi.dev.yaml does not set pve-migration:blueGreen, so dev has no blue-green releases (stacks that have: bg, canary-a, prod)\n",
    });
    expect(repo.read("stacks/Pulumi.dev.yaml")).toBe(before);
    repo.write(FILE, original.replace("    activeColor: blue    # traffic goes here\n", "    activeColor: red\n"));
    expect(await repo.ctl(["color", "flip", "--stack", "bg"])).toEqual({
        code: EXIT.INVALID_CONFIG,
        stdout: "",
        stderr: 'migration-ctl: stacks/Pulumi.bg.yaml: invalid pve-migration:blueGreen (1 error(s)); nothing written\n  - pve-migration:blueGreen.activeColor: must be blue or green (got "red")\n',
    });
});
