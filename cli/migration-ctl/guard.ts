/** `migration-ctl guard`: the automatic rollback guard of one stack (components/guard). */
import * as path from "path";
import type * as Guard from "../../components/guard";
import { CommandDecl } from "../command";
import { UsageError } from "../errors";
import { stringOption } from "../values";
import { CtlIo, requiredOption, session } from "./session";

export const guard: CommandDecl<CtlIo> = {
    name: "guard",
    summary: "the automatic rollback guard of a stack (pve-migration:rollback)",
    options: [
        { flags: "--stack <S>", description: "the stack it guards (required)" },
        { flags: "--once", description: "evaluate once, print the decision as JSON, and exit" },
        { flags: "--reset", description: "forget the guard's actions and escalation (a person took over), and exit" },
        { flags: "--emergency", description: "act without health-checking the previous color (also rollback.emergency)" },
        { flags: "--state-dir <DIR>", description: "state, decision log and lock (default $XDG_STATE_HOME/pve-network-migration/guard)" },
        { flags: "--systemd-unit", description: "print the systemd unit that runs this guard (below), and exit" },
        { flags: "--user <NAME>", description: "with --systemd-unit: the user the guard runs as (default root)" },
        { flags: "--node-binary <PATH>", description: "with --systemd-unit: Node.js 22+ (default: the one running now)" },
    ],
    help: `Evaluates the stack's triggers (pve-migration:rollback.triggers) against rollback.prometheus.url
every rollback.interval seconds until stopped (SIGTERM or SIGINT), one JSON line per evaluation on
stdout and in <state-dir>/<stack>.decisions.jsonl. Node rings: each node's health (up), any
increase of pve_network_fallback_total, apply latency above the Perl baseline. Blue-green: the
active color's health, error rate, p95 response time, CPU and memory. With rollback.automatic, a
trigger that holds rolls the stack back as migration-ctl rollback (or color flip) would, commits
the stack file (rollback.commit.mode: main, or a branch of its own and its pull request command)
and runs pulumi up of the stack through the Automation API; without, it alerts. At most one action
per rollback.cooldownPeriod, at most rollback.maximumRetries in all, then it escalates to a person
and acts no more until --reset. Alerts, actions and escalations go to the webhook whose URL is in
rollback.webhookUrlFile. One guard per stack: a second one refuses to start (exit 8).

--systemd-unit prints a unit for /etc/systemd/system/pve-migration-guard-<stack>.service: it runs
this checkout's dist/bin/migration-ctl.js guard --stack S as --user, its state in
/var/lib/pve-migration-guard; stop it with systemctl stop (SIGTERM: it ends after the evaluation
under way).`,
    run: async ({ opts, io }) => {
        const stack = requiredOption(opts, "stack", "--stack", "guard");
        const modes = ["once", "reset", "systemdUnit"].filter((k) => opts[k] === true);
        if (modes.length > 1) throw new UsageError("guard: give one of --once, --reset and --systemd-unit");
        if (opts.systemdUnit !== true && (opts.user !== undefined || opts.nodeBinary !== undefined))
            throw new UsageError("guard: --user and --node-binary go with --systemd-unit");
        const s = session(opts, io);
        if (opts.systemdUnit === true) {
            const { renderGuardUnit } = require("../../components/guard/unit") as typeof import("../../components/guard/unit");
            try {
                s.out(renderGuardUnit({ stack, repo: s.repo, user: stringOption(opts.user) ?? "root", node: stringOption(opts.nodeBinary) ?? process.execPath }));
            } catch (e) {
                throw new UsageError(`guard --systemd-unit: ${(e as Error).message}`);
            }
            return 0;
        }
        const g = require("../../components/guard") as typeof Guard;
        const stateDir = stringOption(opts.stateDir);
        const o = {
            repo: s.repo,
            stack,
            stateDir: stateDir !== undefined ? path.resolve(io.cwd, stateDir) : g.defaultStateDir(io.env),
            emergency: opts.emergency === true,
        };
        if (opts.reset === true) {
            g.resetState(o);
            s.out(`guard: ${stack}: actions and escalation forgotten\n`);
            return 0;
        }
        const deps = g.realDeps();
        if (opts.once === true) {
            const release = g.takeLock(o);
            try {
                s.out(JSON.stringify(await g.evaluateOnce(o, deps)) + "\n");
            } finally {
                release();
            }
            return 0;
        }
        const stop = new Promise<void>((resolve) => {
            process.once("SIGTERM", () => resolve());
            process.once("SIGINT", () => resolve());
        });
        await g.runGuard(o, deps, (r) => s.out(JSON.stringify(r) + "\n"), stop);
        return 0;
    },
};
