/**
 * A real OpenSSH server for the replay's SSH tests: `/usr/sbin/sshd -D -f <cfg> -e` on
 * 127.0.0.1 with its own host keys (ed25519 and rsa) and one authorized client key, all in a
 * temp dir. Tests only; the caller stops it in afterAll.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { requireTools } from "../tools";

export interface TestSshd {
    readonly port: number;
    readonly dir: string;
    /** authorized_keys lines of the host keys. */
    readonly hostKeyEd25519: string;
    readonly hostKeyRsa: string;
    /** The client's private key (PEM text) and public key line. */
    readonly clientKey: string;
    readonly clientPub: string;
    /** sshd's stderr so far (-e). */
    log(): string;
    stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.on("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

function keygen(dir: string, name: string, type: string): { priv: string; pub: string } {
    requireTools("ssh-keygen");
    const f = path.join(dir, name);
    execFileSync("ssh-keygen", ["-q", "-t", type, ...(type === "rsa" ? ["-b", "2048"] : []), "-N", "", "-C", name, "-f", f]);
    return { priv: fs.readFileSync(f, "utf8"), pub: fs.readFileSync(`${f}.pub`, "utf8").trim() };
}

async function waitForPort(port: number, ms: number): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
            const c = net.connect(port, "127.0.0.1", () => {
                c.destroy();
                resolve(true);
            });
            c.on("error", () => resolve(false));
        });
        if (ok) return;
        if (Date.now() > until) throw new Error(`test sshd did not listen on 127.0.0.1:${port} within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

export async function startSshd(): Promise<TestSshd> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-sshd-"));
    const ed = keygen(dir, "host_ed25519", "ed25519");
    const rsa = keygen(dir, "host_rsa", "rsa");
    const client = keygen(dir, "client", "ed25519");
    fs.writeFileSync(path.join(dir, "authorized_keys"), `${client.pub}\n`, { mode: 0o600 });
    const port = await freePort();
    const user = os.userInfo().username;
    const cfg = [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${path.join(dir, "host_ed25519")}`,
        `HostKey ${path.join(dir, "host_rsa")}`,
        `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
        `PidFile ${path.join(dir, "sshd.pid")}`,
        `AllowUsers ${user}`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "UsePAM no",
        "StrictModes no",
        "LogLevel ERROR",
        "Subsystem sftp internal-sftp",
    ].join("\n");
    const cfgFile = path.join(dir, "sshd_config");
    fs.writeFileSync(cfgFile, `${cfg}\n`);
    // sshd (as root) needs its privilege separation directory, which the openssh-server unit
    // normally creates (RuntimeDirectory=sshd).
    if (process.getuid?.() === 0) fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    requireTools("/usr/sbin/sshd", "ssh");
    execFileSync("/usr/sbin/sshd", ["-t", "-f", cfgFile]);
    let log = "";
    const proc: ChildProcess = spawn("/usr/sbin/sshd", ["-D", "-f", cfgFile, "-e"], { stdio: ["ignore", "ignore", "pipe"] });
    proc.stderr!.setEncoding("utf8").on("data", (d: string) => (log += d));
    await waitForPort(port, 5000);
    return {
        port,
        dir,
        hostKeyEd25519: ed.pub,
        hostKeyRsa: rsa.pub,
        clientKey: client.priv,
        clientPub: client.pub,
        log: () => log,
        stop: () =>
            new Promise<void>((resolve) => {
                const done = () => {
                    fs.rmSync(dir, { recursive: true, force: true });
                    resolve();
                };
                if (proc.exitCode !== null) return done();
                proc.once("exit", done);
                proc.kill("SIGTERM");
            }),
    };
}
