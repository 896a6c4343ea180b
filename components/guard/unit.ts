/**
 * The systemd unit that runs one stack's rollback guard on a management host (README "Automatic
 * rollback"): `migration-ctl guard --stack S` as a long-running service, restarted when it fails,
 * its state, decision log and lock in systemd's StateDirectory. Pure. Every value goes into the
 * unit as is, so each is checked first: paths absolute and of plain characters, names of plain
 * characters (systemd.syntax(7) would read `%`, quotes, `;`, `\` and white space in ExecStart as
 * specifiers, quoting and separators).
 */
import { STACK_NAME_RE } from "../config/stackfile";

export interface GuardUnitInput {
    readonly stack: string;
    /** The checkout the guard edits, commits in and runs pulumi up from. */
    readonly repo: string;
    /** Node.js 22 or later (the checkout's .tools/node/bin/node, say). */
    readonly node: string;
    /** The user it runs as: the one whose git identity, Pulumi login and SSH keys the guard uses. */
    readonly user: string;
}

/** systemd's StateDirectory of the guards, under /var/lib. */
export const GUARD_STATE_DIRECTORY = "pve-migration-guard";

const PLAIN_PATH_RE = /^\/[A-Za-z0-9._/+-]*$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

export function renderGuardUnit(i: GuardUnitInput): string {
    const bad: string[] = [];
    if (!STACK_NAME_RE.test(i.stack)) bad.push(`--stack: ${JSON.stringify(i.stack)} is not a stack name`);
    for (const [flag, p] of [
        ["--repo", i.repo],
        ["--node-binary", i.node],
    ] as const) {
        if (!PLAIN_PATH_RE.test(p) || p.split("/").includes(".."))
            bad.push(`${flag}: ${JSON.stringify(p)} must be an absolute path of letters, digits and . _ / + -`);
    }
    if (!USER_RE.test(i.user)) bad.push(`--user: ${JSON.stringify(i.user)} is not a user name`);
    if (bad.length > 0) throw new Error(bad.join("\n"));
    return [
        "[Unit]",
        `Description=pve-network-migration rollback guard of stack ${i.stack}`,
        "Documentation=file://" + i.repo + "/README.md",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        `User=${i.user}`,
        `WorkingDirectory=${i.repo}`,
        `ExecStart=${i.node} ${i.repo}/dist/bin/migration-ctl.js --repo ${i.repo} guard --stack ${i.stack} --state-dir /var/lib/${GUARD_STATE_DIRECTORY}`,
        `StateDirectory=${GUARD_STATE_DIRECTORY}`,
        "StateDirectoryMode=0700",
        // The guard stops at SIGTERM between two evaluations (an action under way finishes first).
        "KillSignal=SIGTERM",
        "TimeoutStopSec=900",
        "Restart=on-failure",
        "RestartSec=30",
        "NoNewPrivileges=yes",
        "ProtectSystem=full",
        "PrivateTmp=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}
