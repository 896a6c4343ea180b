/**
 * Commands outside Pulumi over real OpenSSH (components/node/capability.ts, the ssh shell that
 * diagnostics collection uses), against an sshd that test/support/replay/sshd.ts starts on
 * 127.0.0.1: stdin, stdout, stderr and exit codes come back, the host key is pinned, the
 * remote time limit holds, and a file staged on the node is brought back and removed there.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { transportCapability } from "../../components/node/capability";
import { startSshd, TestSshd } from "../support/replay/sshd";

let sshd: TestSshd;
let work: string;
let identity: string;
beforeAll(async () => {
    sshd = await startSshd();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "shell-ssh-"));
    identity = path.join(work, "id");
    fs.writeFileSync(identity, sshd.clientKey, { mode: 0o600 });
});
afterAll(async () => {
    await sshd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
});

const ssh = transportCapability({ transport: "ssh" });
const node = () => ({ name: "loop1", address: "127.0.0.1", port: sshd.port, sshUser: os.userInfo().username, hostKey: sshd.hostKeyEd25519 });

describe("ssh shell against a real sshd on 127.0.0.1", () => {
    test("stdin reaches the command; stdout, stderr and the exit code come back; a hostile word is one word", async () => {
        const sh = ssh.shell(node(), { identity });
        try {
            const r = await sh.run(["bash", "-s", "--", "a b", "$(echo pwned)'"], 'cat >/dev/null; printf "%s|" "$@"; printf oops >&2; exit 5', 30);
            expect([r.code, r.stdout.toString("utf8"), r.stderr]).toEqual([5, "a b|$(echo pwned)'|", "oops"]);
        } finally {
            sh.close();
        }
    });

    test("a host key that is not the node's is refused: nothing runs", async () => {
        const marker = path.join(work, "ran");
        const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        const sh = ssh.shell({ ...node(), hostKey: other }, { identity });
        try {
            const r = await sh.run(["touch", marker], "");
            expect(r.code).toBe(255);
            expect(r.stderr).toContain("Host key verification failed.");
            expect(fs.existsSync(marker)).toBe(false);
        } finally {
            sh.close();
        }
    });

    test("the time limit holds on the node: timeout ends the command with 124", async () => {
        const sh = ssh.shell(node(), { identity });
        try {
            const started = Date.now();
            const r = await sh.run(["sleep", "30"], "", 1);
            expect(r.code).toBe(124);
            expect(Date.now() - started).toBeLessThan(15_000);
        } finally {
            sh.close();
        }
    });

    test("a file staged on the node comes back (mode 0600) and is removed there", async () => {
        const sh = ssh.shell(node(), { identity });
        const out = path.join(work, "back", "bundle.bin");
        const staged = sh.stagingPath(out, `pve-shell-test-${process.pid}-${Date.now()}.bin`);
        try {
            expect(path.dirname(staged)).toBe("/var/tmp");
            const w = await sh.run(["bash", "-c", 'printf "\\x00\\xffbinary" > "$1"', "write", staged], "");
            expect(w.code).toBe(0);
            await sh.retrieve(staged, out);
            expect(fs.readFileSync(out)).toEqual(Buffer.from([0x00, 0xff, ...Buffer.from("binary")]));
            expect((fs.statSync(out).mode & 0o777).toString(8)).toBe("600");
            expect(fs.existsSync(staged)).toBe(false);
            await expect(sh.retrieve(staged, out)).rejects.toThrow(`fetching ${staged} failed (exit 1): cat: ${staged}: No such file or directory`);
        } finally {
            fs.rmSync(staged, { force: true });
            sh.close();
        }
    });
});
