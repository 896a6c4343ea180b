/**
 * The step prelude's temp files without a process (components/scripts/sh/lib.sh pve_new_file,
 * pve_new_temp), run with bash: new files only (O_EXCL through noclobber), the mode asked,
 * the prelude's umask afterwards, an existing name of any kind skipped and left as it was,
 * and refusals that name the bad value.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const LIB = path.join(__dirname, "../../components/scripts/sh/lib.sh");

/** Run `body` after the prelude, as a step named `t` does. */
function bash(body: string, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync("bash", ["-c", `source "$LIB"\n${body}`, "t", ...args], { encoding: "utf8", env: { ...process.env, LIB, STEP: "t" }, timeout: 20_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-temp-files-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

describe("pve_new_file and pve_new_temp (bash, no mktemp)", () => {
    test("new empty files with the mode asked, named by the template, the umask 0022 afterwards", () => {
        const r = bash(
            'pve_new_temp a "$1" .transition 0644; pve_new_temp b "$1" .config 0640; pve_new_file c "$1/.pve-restore.XXXXXX" 0600; printf "%s\\n" "$a" "$b" "$c"; umask',
            [dir],
        );
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        const [a, b, c, umask] = r.stdout.split("\n");
        expect(a).toMatch(new RegExp(`^${dir}/\\.transition\\.pve-tmp\\.\\d+\\.[A-Za-z0-9]{6}$`));
        expect(b).toMatch(new RegExp(`^${dir}/\\.config\\.pve-tmp\\.\\d+\\.[A-Za-z0-9]{6}$`));
        expect(c).toMatch(new RegExp(`^${dir}/\\.pve-restore\\.[A-Za-z0-9]{6}$`));
        expect([mode(a), mode(b), mode(c)]).toEqual(["644", "640", "600"]);
        expect([a, b, c].map((p) => fs.statSync(p).size)).toEqual([0, 0, 0]);
        expect(umask).toBe("0022");
        expect(fs.readdirSync(dir).sort()).toEqual([a, b, c].map((p) => path.basename(p)).sort());
    });

    test("a name that exists as a FIFO, a symlink or a file is skipped and left as it was", () => {
        // With SRANDOM unset the names follow RANDOM's seed: the first run shows the name the second would take first.
        const first = bash('unset SRANDOM; RANDOM=7; pve_new_file a "$1/.pve-restore.XXXXXX" 0600; printf "%s" "$a"', [dir]);
        expect(first.status).toBe(0);
        const taken = first.stdout;
        fs.rmSync(taken);
        // The same seed gives the same name again: so the runs below try `taken` first.
        expect(bash('unset SRANDOM; RANDOM=7; pve_new_file a "$1/.pve-restore.XXXXXX" 0600; printf "%s" "$a"', [dir]).stdout).toBe(taken);
        for (const kind of ["fifo", "symlink", "file"] as const) {
            fs.rmSync(taken, { force: true });
            const target = path.join(dir, "target");
            fs.writeFileSync(target, "keep\n");
            if (kind === "fifo") expect(spawnSync("mkfifo", [taken]).status).toBe(0);
            if (kind === "symlink") fs.symlinkSync(target, taken);
            if (kind === "file") fs.writeFileSync(taken, "mine\n");
            const r = bash('unset SRANDOM; RANDOM=7; pve_new_file a "$1/.pve-restore.XXXXXX" 0600; printf "%s" "$a"', [dir]);
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).not.toBe(taken);
            expect(r.stdout).toMatch(new RegExp(`^${dir}/\\.pve-restore\\.[A-Za-z0-9]{6}$`));
            expect(fs.statSync(r.stdout).size).toBe(0);
            expect(fs.readFileSync(target, "utf8")).toBe("keep\n");
            if (kind === "fifo") expect(fs.lstatSync(taken).isFIFO()).toBe(true);
            if (kind === "symlink") expect(fs.readlinkSync(taken)).toBe(target);
            if (kind === "file") expect(fs.readFileSync(taken, "utf8")).toBe("mine\n");
            fs.rmSync(r.stdout);
        }
    });

    test("50 names taken: exit 73 naming the folder, nothing created", () => {
        const made = bash('unset SRANDOM; RANDOM=11; for i in $(seq 50); do pve_new_file a "$1/.pve-restore.XXXXXX" 0600; done', [dir]);
        expect(made.status).toBe(0);
        const before = fs.readdirSync(dir).sort();
        expect(before).toHaveLength(50);
        const r = bash('unset SRANDOM; RANDOM=11; pve_new_file a "$1/.pve-restore.XXXXXX" 0600', [dir]);
        expect(r.status).toBe(73);
        expect(r.stderr).toBe(`pve-migration t on -: cannot create a file in ${dir}: 50 random names taken\n`);
        expect(fs.readdirSync(dir).sort()).toEqual(before);
    });

    test("refusals name the bad value and create nothing", () => {
        const cases: [string, number, string][] = [
            ['pve_new_temp a "$1" .x 0755', 70, "pve-migration t on -: pve_new_file: mode 0755 is not 0000..0666 (no execute bits)\n"],
            [
                'pve_new_temp a "$1" .x "644; touch $1/owned"',
                70,
                `pve-migration t on -: pve_new_file: mode 644; touch ${dir}/owned is not 0000..0666 (no execute bits)\n`,
            ],
            ['pve_new_file a "$1/plain" 0600', 70, `pve-migration t on -: pve_new_file: template ${dir}/plain does not end in XXXXXX\n`],
            ['pve_new_temp a "$1" "../x"', 70, "pve-migration t on -: pve_temp_name: bad temp file base ../x\n"],
            ['pve_new_temp a "$1/missing" .x', 73, `pve-migration t on -: cannot create a file in ${dir}/missing\n`],
        ];
        for (const [body, status, stderr] of cases) {
            const r = bash(body, [dir]);
            expect([r.status, r.stderr]).toEqual([status, stderr]);
        }
        expect(fs.readdirSync(dir)).toEqual([]);
    });
});
