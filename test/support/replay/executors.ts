/**
 * Replay providers: stand-ins for @pulumi/command (pulumi/pulumi-command provider/pkg/provider,
 * read at the commit mirrored on this machine) that really execute: command:local:Command as a
 * child process, command:remote:Command and command:remote:CopyToRemote over the OpenSSH client
 * (`ssh`, `sftp`). Tests only. What each follows:
 *
 * - local/commandOutputs.go `run`: argv = `interpreter` (non-empty) else `/bin/sh -c`, then the
 *   command; dir = `dir` else the current directory; env = this process's env + `environment`
 *   + PULUMI_COMMAND_STDOUT/STDERR (previous outputs, when `addPreviousOutputInEnv` is unset or
 *   true and they are non-empty); stdin only when non-empty; stdout/stderr captured whole, one
 *   trailing "\n" trimmed (strings.TrimSuffix); error `<exit error>: running "<cmd>":\n<stdout+stderr>`.
 * - Timeouts: pulumi-go-provider middleware/cancel/cancel.go `Wrap` gives Create/Update/Delete a
 *   context with the operation's customTimeouts. Local: exec.CommandContext kills only the
 *   interpreter process (SIGKILL) and cmd.Wait still waits for the output pipes, which a child of
 *   the interpreter may hold open. Remote: remote/commandOutputs.go `run` uses the context only
 *   to dial (`Connection.Dial` -> `dialWithRetry`); `session.Run` ignores it. Where the provider
 *   would wait for ever, the replay's own cap (stepCapMs) fails the step with "the engine would
 *   still be waiting" and kills the process group.
 * - remote/connection.go `SSHConfig`: a given hostKey is pinned (ssh.FixedHostKey) and the host
 *   key algorithms are exactly [publicKey.Type()]; the private key authenticates; `Timeout`
 *   (perDialTimeout, default 15, 0 = none) bounds the TCP connect. Here: a temp known_hosts with
 *   the pinned key, StrictHostKeyChecking=yes, HostKeyAlgorithms=<key type>, ConnectTimeout.
 *   Deviation: the provider also offers the SSH agent (SSH_AUTH_SOCK); the replay never does.
 * - `dialWithRetry`: attempt try = 0, 1, ...; after a failed attempt, stop when try+1 >
 *   dialErrorLimit (default 10; -1 unlimited) with "after <try> failed attempts: <err>", i.e.
 *   dialErrorLimit+1 attempts; else wait (sdk/go/common/util/retry/until.go: 100 ms, x1.5 per
 *   try, at most 5 s). A dial is TCP + handshake + auth (ssh.Dial), so a refused host key or key
 *   is retried too. Here one dial = one OpenSSH ControlMaster connection (ConnectionAttempts=1),
 *   and the command runs in a session over it (`client.NewSession`), so a non-zero exit of the
 *   command is never retried.
 * - remote/commandOutputs.go `run`: `environment` entries are session.Setenv (an error when sshd
 *   lacks AcceptEnv); previous stdout/stderr are Setenv'd with only a warning on refusal. The
 *   replay sends no environment (no SendEnv): `environment` is refused with an error naming it,
 *   and a previous output that the provider would try to send is recorded as a warning.
 *   Exit error text as x/crypto/ssh ExitError: "Process exited with status N".
 * - remote/copyController.go: CopyToRemote copies a file (or text) asset over SFTP, creating
 *   parent directories (MkdirAll); an update copies again only when the asset hash or
 *   remotePath changed; `triggers` replace.
 */
import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProviderContext, ProviderResult, ReplayProvider, ReplayStepError } from "./types";

/** Go's %q for the strings commands are (ASCII-safe JSON quoting is the same for them). */
function goQuote(s: string): string {
    return JSON.stringify(s);
}

function trimOneNewline(s: string): string {
    return s.endsWith("\n") ? s.slice(0, -1) : s;
}

export interface Spawned {
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
    /** stdout and stderr interleaved as they arrived (the provider's stdouterrbuf). */
    readonly combined: string;
}

export interface SpawnOptions {
    readonly cwd?: string;
    readonly env?: NodeJS.ProcessEnv;
    readonly stdin?: string;
    /** Seconds after which only the direct child is killed with SIGKILL (exec.CommandContext); 0: never. */
    readonly killAfterSeconds?: number;
    /** The replay's hard cap; past it the whole process group is killed and the step fails. */
    readonly capMs: number;
    readonly label: string;
}

/** Run argv, wait for exit AND for stdout/stderr to close (Go's cmd.Wait with non-file writers). */
export function spawnCaptured(argv: readonly string[], o: SpawnOptions): Promise<Spawned> {
    return new Promise((resolve, reject) => {
        let child: ChildProcess;
        try {
            child = spawn(argv[0], argv.slice(1), { cwd: o.cwd, env: o.env, stdio: ["pipe", "pipe", "pipe"], detached: true });
        } catch (e) {
            reject(e);
            return;
        }
        let stdout = "";
        let stderr = "";
        let combined = "";
        child.stdout!.setEncoding("utf8").on("data", (d: string) => ((stdout += d), (combined += d)));
        child.stderr!.setEncoding("utf8").on("data", (d: string) => ((stderr += d), (combined += d)));
        child.stdin!.on("error", () => undefined); // the command may exit without reading stdin
        if (o.stdin !== undefined && o.stdin.length > 0) child.stdin!.end(o.stdin);
        else child.stdin!.end();
        const timers: NodeJS.Timeout[] = [];
        if (o.killAfterSeconds && o.killAfterSeconds > 0) {
            timers.push(setTimeout(() => child.kill("SIGKILL"), o.killAfterSeconds * 1000));
        }
        let capped = false;
        timers.push(
            setTimeout(() => {
                capped = true;
                try {
                    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
                } catch {
                    // already gone
                }
            }, o.capMs),
        );
        child.on("error", (e) => {
            timers.forEach(clearTimeout);
            reject(e);
        });
        child.on("close", (code, signal) => {
            timers.forEach(clearTimeout);
            if (capped) {
                reject(new ReplayStepError(`replay safety cap: ${o.label} still running after ${o.capMs} ms; the engine would still be waiting`));
                return;
            }
            resolve({ code, signal, stdout, stderr, combined });
        });
    });
}

function previousEnv(ctx: ProviderContext): Record<string, string> {
    const env: Record<string, string> = {};
    if (ctx.inputs.addPreviousOutputInEnv === false || !ctx.old) return env;
    if (ctx.old.outputs.stdout) env.PULUMI_COMMAND_STDOUT = String(ctx.old.outputs.stdout);
    if (ctx.old.outputs.stderr) env.PULUMI_COMMAND_STDERR = String(ctx.old.outputs.stderr);
    return env;
}

/** local/commandOutputs.go `run`. */
async function runLocal(ctx: ProviderContext, command: string, prev: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
    const i = ctx.inputs;
    for (const k of ["assetPaths", "archivePaths"]) if (i[k] !== undefined) throw new ReplayStepError(`replay: ${ctx.name}: ${k} is not modelled`);
    const interpreter: string[] = Array.isArray(i.interpreter) && i.interpreter.length > 0 ? i.interpreter.map(String) : ["/bin/sh", "-c"];
    const env: NodeJS.ProcessEnv = { ...process.env, ...(i.environment ?? {}), ...prev };
    const r = await spawnCaptured([...interpreter, command], {
        cwd: i.dir ?? process.cwd(),
        env,
        stdin: i.stdin,
        killAfterSeconds: ctx.timeoutSeconds,
        capMs: ctx.capMs,
        label: ctx.name,
    });
    if (r.code !== 0) {
        const exit = r.signal ? `signal: ${r.signal === "SIGKILL" ? "killed" : r.signal}` : `exit status ${r.code}`;
        throw new ReplayStepError(`${exit}: running ${goQuote(command)}:\n${r.combined}`);
    }
    return { stdout: trimOneNewline(r.stdout), stderr: trimOneNewline(r.stderr) };
}

// ---------------------------------------------------------------------------------------------
// SSH

export interface SshConnection {
    host: string;
    port?: number;
    user?: string;
    hostKey?: string;
    privateKey?: string;
    password?: string;
    privateKeyPassword?: string;
    dialErrorLimit?: number;
    perDialTimeout?: number;
    proxy?: unknown;
    agentSocketPath?: string;
}

/** A dialled connection: an OpenSSH ControlMaster in a private temp dir. */
export interface SshSession {
    /** Options for `ssh`/`sftp` that reuse the master connection. */
    readonly options: string[];
    readonly host: string;
    /** Number of dial attempts made. */
    readonly attempts: number;
    close(): Promise<void>;
}

function baseOptions(c: SshConnection, dir: string): string[] {
    const o = [
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "PasswordAuthentication=no",
        "-o",
        "KbdInteractiveAuthentication=no",
        "-o",
        "ConnectionAttempts=1",
        "-o",
        `ControlPath=${path.join(dir, "cm")}`,
        "-o",
        `Port=${c.port ?? 22}`,
        "-o",
        `User=${c.user ?? "root"}`,
    ];
    if (c.hostKey !== undefined) {
        o.push("-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${path.join(dir, "known_hosts")}`, "-o", "GlobalKnownHostsFile=/dev/null");
        o.push("-o", "HostKeyAlias=replay-pinned-host", "-o", `HostKeyAlgorithms=${hostKeyType(c.hostKey)}`);
    } else {
        // SSHConfig without hostKey: ssh.InsecureIgnoreHostKey().
        o.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null");
    }
    if (c.privateKey !== undefined) o.push("-o", `IdentityFile=${path.join(dir, "id")}`);
    const perDial = c.perDialTimeout ?? 15;
    if (perDial > 0) o.push("-o", `ConnectTimeout=${perDial}`);
    return o;
}

/** The key type of an authorized_keys line (ssh.ParseAuthorizedKey + PublicKey.Type()). */
export function hostKeyType(hostKey: string): string {
    const parts = hostKey.trim().split(/\s+/);
    if (parts.length < 2 || !/^[a-z0-9@.-]+$/.test(parts[0]) || !/^[A-Za-z0-9+/=]+$/.test(parts[1])) {
        throw new ReplayStepError(`failed to parse host key: connection.hostKey is not an authorized_keys line`);
    }
    const blob = Buffer.from(parts[1], "base64");
    const len = blob.readUInt32BE(0);
    const inner = blob.subarray(4, 4 + len).toString("latin1");
    if (inner !== parts[0]) throw new ReplayStepError(`failed to parse host key: connection.hostKey type ${parts[0]} does not match its key (${inner})`);
    return inner;
}

function checkConnection(c: SshConnection, label: string): void {
    if (typeof c.host !== "string" || c.host.length === 0 || /[\s\0]/.test(c.host) || c.host.startsWith("-")) {
        throw new ReplayStepError(`replay: ${label}: connection.host ${JSON.stringify(c.host)} is not a host name or address`);
    }
    if (c.user !== undefined && (/[\s\0]/.test(c.user) || c.user.startsWith("-") || c.user.length === 0)) {
        throw new ReplayStepError(`replay: ${label}: connection.user ${JSON.stringify(c.user)} is not a user name`);
    }
    if (c.port !== undefined && (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535)) {
        throw new ReplayStepError(`replay: ${label}: connection.port ${c.port} is not a port`);
    }
    for (const k of ["password", "privateKeyPassword", "proxy", "agentSocketPath"] as const) {
        if (c[k] !== undefined) throw new ReplayStepError(`replay: ${label}: connection.${k} is not modelled (use privateKey)`);
    }
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Where the SSH executor keeps its key folders (PVE_REPLAY_TMPDIR, else the system's). */
export function replayTmpdir(): string {
    return process.env.PVE_REPLAY_TMPDIR ?? os.tmpdir();
}

/**
 * Dial as remote/connection.go `Connection.Dial` does (see the file comment): retry by the
 * provider's rule, bounded by the operation's context (timeoutSeconds) and the replay's cap.
 */
export async function dial(c: SshConnection, o: { label: string; timeoutSeconds: number; capMs: number }): Promise<SshSession> {
    checkConnection(c, o.label);
    const dir = fs.mkdtempSync(path.join(replayTmpdir(), "replay-ssh-"));
    const cleanupDir = () => fs.rmSync(dir, { recursive: true, force: true });
    try {
        if (c.hostKey !== undefined) fs.writeFileSync(path.join(dir, "known_hosts"), `replay-pinned-host ${c.hostKey.trim()}\n`, { mode: 0o600 });
        if (c.privateKey !== undefined) {
            const key = c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`;
            fs.writeFileSync(path.join(dir, "id"), key, { mode: 0o600 });
        }
        const options = baseOptions(c, dir);
        const limit = c.dialErrorLimit ?? 10;
        const deadline = o.timeoutSeconds > 0 ? Date.now() + o.timeoutSeconds * 1000 : Number.POSITIVE_INFINITY;
        const capAt = Date.now() + o.capMs;
        let delay = 100;
        for (let attempt = 0; ; attempt++) {
            const r = await spawnCaptured(["ssh", ...options, "-o", "ControlMaster=yes", "-o", "ControlPersist=no", "-f", "-N", "--", c.host], {
                capMs: Math.max(1, capAt - Date.now()),
                label: `${o.label} (dial)`,
            });
            if (r.code === 0) {
                return {
                    options,
                    host: c.host,
                    attempts: attempt + 1,
                    close: async () => {
                        await spawnCaptured(["ssh", ...options, "-O", "exit", "--", c.host], { capMs: 10_000, label: `${o.label} (close)` }).catch(() => undefined);
                        cleanupDir();
                    },
                };
            }
            // OpenSSH's verdict is its last stderr line ("Host key verification failed.", "Unable to negotiate ...").
            const err = r.stderr.trim().split("\n").pop() || `ssh exited with status ${r.code}`;
            if (limit > -1 && attempt + 1 > limit) throw new ReplayStepError(`after ${attempt} failed attempts: ${err}`);
            const wait = Math.min(delay, 5000);
            if (Date.now() + wait >= deadline) throw new ReplayStepError("context deadline exceeded");
            if (Date.now() + wait >= capAt)
                throw new ReplayStepError(`replay safety cap: ${o.label} still dialling after ${o.capMs} ms; the engine would still be waiting`);
            await sleep(wait);
            delay *= 1.5;
        }
    } catch (e) {
        cleanupDir();
        throw e;
    }
}

/** remote/commandOutputs.go `run` over a dialled session. */
async function runRemote(ctx: ProviderContext, command: string, prev: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
    const i = ctx.inputs;
    if (i.environment && Object.keys(i.environment).length > 0) {
        throw new ReplayStepError(`replay: ${ctx.name}: environment is not sent over SSH (the replay uses no SendEnv; the provider needs AcceptEnv on the node)`);
    }
    for (const k of Object.keys(prev)) {
        ctx.warn(`${k} not sent to the node: the provider sets it with an SSH env request, which sshd accepts only with AcceptEnv; the replay sends no environment`);
    }
    const session = await dial(i.connection as SshConnection, { label: ctx.name, timeoutSeconds: ctx.timeoutSeconds, capMs: ctx.capMs });
    try {
        // session.Run ignores the context: no kill on customTimeouts, only the replay's cap.
        const r = await spawnCaptured(["ssh", ...session.options, "-o", "ControlMaster=no", "--", session.host, command], {
            stdin: i.stdin,
            capMs: ctx.capMs,
            label: ctx.name,
        });
        if (r.code !== 0) {
            const exit =
                r.code === 255 && r.signal === null
                    ? `Process exited with status 255`
                    : r.signal
                      ? `Process exited with signal ${r.signal}`
                      : `Process exited with status ${r.code}`;
            throw new ReplayStepError(`${exit}: running ${goQuote(command)}:\n${r.combined}`);
        }
        return { stdout: trimOneNewline(r.stdout), stderr: trimOneNewline(r.stderr) };
    } finally {
        await session.close();
    }
}

/** A path quoted for an sftp batch file (double quotes, backslash escapes). */
function sftpQuote(p: string, label: string): string {
    if (/[\n\r\0]/.test(p)) throw new ReplayStepError(`replay: ${label}: remotePath holds a newline or NUL`);
    return `"${p.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

async function copyToRemote(ctx: ProviderContext): Promise<void> {
    const i = ctx.inputs;
    const src = i.source?.__asset as { path?: string; text?: string } | undefined;
    if (!src || (src.path === undefined && src.text === undefined)) throw new ReplayStepError(`replay: ${ctx.name}: source must be a file or text asset`);
    if (typeof i.remotePath !== "string" || i.remotePath === "") throw new ReplayStepError(`replay: ${ctx.name}: remotePath must be a path`);
    const session = await dial(i.connection as SshConnection, { label: ctx.name, timeoutSeconds: ctx.timeoutSeconds, capMs: ctx.capMs });
    const tmp = fs.mkdtempSync(path.join(replayTmpdir(), "replay-copy-"));
    try {
        let local = src.path as string;
        if (src.path === undefined) {
            local = path.join(tmp, "text");
            fs.writeFileSync(local, src.text as string);
        }
        if (fs.statSync(local).isDirectory()) throw new ReplayStepError(`replay: ${ctx.name}: directory sources are not modelled`);
        const remote = i.remotePath as string;
        const lines: string[] = [];
        const parts = path.posix.dirname(remote).split("/");
        for (let n = 1; n <= parts.length; n++) {
            const d = parts.slice(0, n).join("/");
            if (d !== "" && d !== ".") lines.push(`-mkdir ${sftpQuote(d, ctx.name)}`);
        }
        lines.push(`put ${sftpQuote(local, ctx.name)} ${sftpQuote(remote, ctx.name)}`);
        const r = await spawnCaptured(["sftp", ...session.options, "-o", "ControlMaster=no", "-b", "-", "--", session.host], {
            stdin: lines.join("\n") + "\n",
            capMs: ctx.capMs,
            label: ctx.name,
        });
        if (r.code !== 0) throw new ReplayStepError(`failed to copy to ${remote}: ${r.stderr.trim()}`);
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
        await session.close();
    }
}

// ---------------------------------------------------------------------------------------------
// Providers

type Runner = (ctx: ProviderContext, command: string, prev: Record<string, string>) => Promise<{ stdout: string; stderr: string }>;

/** command:local:Command / command:remote:Command (local/commandController.go, remote/commandController.go). */
export function commandProvider(kind: "local" | "remote"): ReplayProvider {
    const runner: Runner = kind === "local" ? runLocal : runRemote;
    return {
        // common/inputs.go ResourceInputs: only `triggers` is replaceOnChanges.
        replaceOnChanges: ["triggers"],
        secretInputs: kind === "remote" ? ["connection"] : [],
        hasUpdate: true,
        async create(ctx): Promise<ProviderResult> {
            // Create: no `create` -> nothing runs; stdout/stderr stay empty.
            if (ctx.inputs.create === undefined) return { outputs: { stdout: "", stderr: "" }, ran: false };
            return { outputs: await runner(ctx, String(ctx.inputs.create), {}), ran: true };
        },
        async update(ctx): Promise<ProviderResult> {
            // Update: `update` if given, else `create`; neither -> nothing runs, old outputs kept.
            const cmd = ctx.inputs.update ?? ctx.inputs.create;
            const old = { stdout: ctx.old?.outputs.stdout ?? "", stderr: ctx.old?.outputs.stderr ?? "" };
            if (cmd === undefined) return { outputs: old, ran: false };
            return { outputs: await runner(ctx, String(cmd), previousEnv(ctx)), ran: true };
        },
        async delete(ctx): Promise<{ ran: boolean }> {
            // Delete: no `delete` -> nothing runs; the resource leaves the state.
            if (ctx.inputs.delete === undefined) return { ran: false };
            const withPrev: ProviderContext = { ...ctx, old: ctx.old };
            await runner(withPrev, String(ctx.inputs.delete), previousEnv(withPrev));
            return { ran: true };
        },
    };
}

/** command:remote:CopyToRemote (remote/copyController.go). */
export function copyToRemoteProvider(): ReplayProvider {
    return {
        replaceOnChanges: ["triggers"],
        secretInputs: ["connection"],
        hasUpdate: true,
        async create(ctx) {
            await copyToRemote(ctx);
            return { outputs: {}, ran: true };
        },
        async update(ctx) {
            const hash = (x: Record<string, any> | undefined) => x?.source?.__asset?.hash;
            const need = hash(ctx.inputs) !== hash(ctx.old?.inputs) || ctx.inputs.remotePath !== ctx.old?.inputs.remotePath;
            if (need) await copyToRemote(ctx);
            return { outputs: {}, ran: need };
        },
        async delete() {
            // CopyToRemote has no Delete: removing it leaves the remote file.
            return { ran: false };
        },
    };
}

/**
 * A stand-in provider that executes nothing: outputs are the inputs plus `extra(inputs)` (for
 * types the replay does not execute, e.g. random:index/randomId:RandomId with a derived hex).
 */
export function inputsAsOutputsProvider(extra: (inputs: Record<string, any>) => Record<string, any> = () => ({})): ReplayProvider {
    return {
        replaceOnChanges: [],
        hasUpdate: true,
        async create(ctx) {
            return { outputs: extra(ctx.inputs), ran: false };
        },
        async update(ctx) {
            return { outputs: extra(ctx.inputs), ran: false };
        },
        async delete() {
            return { ran: false };
        },
    };
}

export function defaultProviders(): Record<string, ReplayProvider> {
    return {
        "command:local:Command": commandProvider("local"),
        "command:remote:Command": commandProvider("remote"),
        "command:remote:CopyToRemote": copyToRemoteProvider(),
    };
}

/** A content hash like the engine's asset hash (sha256 of the bytes). */
export function sha256(data: string | Buffer): string {
    return crypto.createHash("sha256").update(data).digest("hex");
}
