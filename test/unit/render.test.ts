import { parse } from "smol-toml";
import { PHASES, phaseInfo } from "../../components/phases";
import { MAX_ARG_STRLEN } from "../../components/config/bounds";
import {
    DEFAULT_STEP_TIMEOUTS,
    NODE_STEPS,
    STEP_KILL_AFTER_SECONDS,
    STEP_RUNNER,
    CommandStep,
    commandLine,
    parseCommand,
    parseStepCommand,
    parseStepCommandLine,
    renderMigrationToml,
    renderStepScript,
    renderMiddlewareUnit,
    renderRustUnit,
    shQuote,
    stepCommandLine,
} from "../../components/scripts";

describe("migration.toml", () => {
    test.each(PHASES.map((p) => [p]))("%s: exactly the runbook keys", (phase) => {
        const text = renderMigrationToml({
            phase,
            fallbackEnabled: true,
            perlApiBaseUrl: "https://pve-east.example.internal:8006",
            perlApiTimeout: 60,
            logMigrationDecisions: true,
        });
        const info = phaseInfo(phase);
        expect(parse(text)).toEqual({
            phase,
            fallback_enabled: true,
            perl_api_base_url: "https://pve-east.example.internal:8006",
            perl_api_timeout: 60,
            log_migration_decisions: true,
            features: { rust_cli: info.rustCli, rust_daemon: info.rustDaemon },
        });
    });

    test("the rendered text", () => {
        expect(
            renderMigrationToml({
                phase: "rust-read-only",
                fallbackEnabled: true,
                perlApiBaseUrl: "https://c:8006",
                perlApiTimeout: 60,
                logMigrationDecisions: false,
            }),
        ).toBe(
            [
                "# Managed by pve-network-migration (Pulumi). Change the phase in the stack config, not here.",
                'phase = "rust-read-only"',
                "fallback_enabled = true",
                'perl_api_base_url = "https://c:8006"',
                "perl_api_timeout = 60",
                "log_migration_decisions = false",
                "",
                "[features]",
                "rust_cli = true",
                "rust_daemon = true",
                "",
            ].join("\n"),
        );
    });
});

describe("systemd units", () => {
    const u = { configPath: "/etc/pve/network/migration.toml", rustService: "pve-network-rs.service", middlewareService: "pve-network-migration.service" };
    test("the Rust daemon reads the migration config and is wanted by multi-user.target", () => {
        const text = renderRustUnit(u);
        expect(text).toContain("ExecStart=/usr/sbin/pve-network-rs --config /etc/pve/network/migration.toml\n");
        expect(text).toContain("ConditionPathExists=/etc/pve/network/migration.toml\n");
        expect(text).toContain("[Install]\nWantedBy=multi-user.target\n");
    });
    test("the middleware is not bound to the network: restarting it never restarts networking", () => {
        const text = renderMiddlewareUnit(u);
        expect(text).toContain("ExecStart=/usr/sbin/pve-network-migration --config /etc/pve/network/migration.toml\n");
        expect(text).not.toMatch(/networking|PartOf=|BindsTo=|Requires=network/);
    });
});

describe("command lines", () => {
    test("a non-root SSH user runs the step through sudo -n, the time limit inside sudo", () => {
        expect(stepCommandLine({ options: { root: "/", node: "pve1" } }, { step: "verify", sudo: true })).toBe(
            `sudo -n -- bash -c ${shQuote(STEP_RUNNER)} pve-migration-steps 'pve1' '10' 'verify' '600' '4' '--root' '/' '--node' 'pve1'`,
        );
    });
    test("root runs the step without sudo; the configured limit and the argv after -- are single-quoted words", () => {
        expect(stepCommandLine({ options: { root: "/", node: "pve1" }, argv: ["pvenet", "it's"] }, { step: "legacy-apply", timeLimit: 45 })).toBe(
            `bash -c ${shQuote(STEP_RUNNER)} pve-migration-steps 'pve1' '10' 'legacy-apply' '45' '7' '--root' '/' '--node' 'pve1' '--' 'pvenet' 'it'\\''s'`,
        );
    });
    test("the runner reads the script whole, refuses an empty one, and runs it with bash -c under GNU timeout (SIGKILL 10 s after SIGTERM)", () => {
        const lines = STEP_RUNNER.split("\n");
        expect(lines.slice(0, 4)).toEqual(["exec 3>&2 2>/dev/null", "script=$(cat)", "node=$1 kill=$2", "shift 2"]);
        expect(lines[4]).toBe('if [ -z "$script" ]; then printf \'pve-migration %s on %s: no step script on stdin\\n\' "$1" "$node" >&3; exit 70; fi');
        expect(lines).toContain('  timeout -k "$kill" "$limit" bash -c "$script" "$step" --time-limit "$limit" "${@:1:$n}" 2>&3 3>&-');
        expect(STEP_KILL_AFTER_SECONDS).toBe(10);
    });
    test("every step script fits in one argument of bash -c (MAX_ARG_STRLEN); the monitoring host's rules, sent whole, with room to grow", () => {
        // A node step runs from the step library (a file the stub sources), so only `rules` still
        // travels whole as the argument of bash -c (components/monitoring): it keeps half the limit free.
        for (const s of NODE_STEPS) expect(Buffer.byteLength(renderStepScript(s), "utf8")).toBeLessThan(MAX_ARG_STRLEN);
        expect(Buffer.byteLength(renderStepScript("rules"), "utf8")).toBeLessThan(MAX_ARG_STRLEN / 2);
    });
    test.each([
        [{ options: { root: "/", node: "pve1" } }, { step: "verify", sudo: true }],
        [
            { options: { root: "/srv/x y", node: "pve-2", content: "a'b\nc" }, argv: ["x", "$(id)"] },
            { step: "config", timeLimit: 86400 },
        ],
        [
            { options: { node: "n" }, argv: [] },
            { step: "rules", timeLimit: 1, sudo: false },
        ],
    ] as const)("parseStepCommand reads back what stepCommandLine rendered (%#)", (args, how) => {
        const line = stepCommandLine(args, how);
        const parsed = parseStepCommand(line);
        expect(parsed).toEqual({
            step: how.step,
            node: args.options.node,
            timeLimit: "timeLimit" in how ? how.timeLimit : DEFAULT_STEP_TIMEOUTS[how.step],
            killAfter: 10,
            sudo: "sudo" in how ? how.sudo : false,
            args: "argv" in args && args.argv.length > 0 ? args : { options: args.options },
        });
        expect(parseStepCommandLine(line)).toEqual(parsed.args);
    });
    test("a time limit outside 1..86400 s or an unknown step is refused when rendering", () => {
        const a = { options: { node: "pve1" } };
        expect(() => stepCommandLine(a, { step: "verify", timeLimit: 0 })).toThrow("step time limit must be a whole number of seconds, 1..86400: 0");
        expect(() => stepCommandLine(a, { step: "verify", timeLimit: 86401 })).toThrow("step time limit must be a whole number of seconds, 1..86400: 86401");
        expect(() => stepCommandLine(a, { step: "verify", timeLimit: 1.5 })).toThrow("step time limit must be a whole number of seconds, 1..86400: 1.5");
        expect(() => stepCommandLine(a, { step: "reboot" as "verify" })).toThrow("unknown node step reboot");
        expect(() => stepCommandLine({ options: {} }, { step: "verify" })).toThrow("step verify: the step arguments name no --node");
    });
    test("quoting: a single quote becomes '\\''", () => {
        expect(shQuote("it's")).toBe("'it'\\''s'");
    });
    test("a NUL cannot be passed", () => {
        expect(() => shQuote("a\0b")).toThrow("a shell argument cannot contain NUL");
    });
    test("parseStepCommandLine refuses what stepCommandLine did not render", () => {
        const good = stepCommandLine({ options: { root: "/", node: "pve1" } }, { step: "verify", timeLimit: 30 });
        expect(() => parseStepCommandLine("rm -rf /")).toThrow("not a step command line");
        // The old shape, without a time limit.
        expect(() => parseStepCommandLine("bash -s -- '--root' '/' '--node' 'pve1'")).toThrow("not a step command line");
        // Anything appended, another runner, a changed kill delay, a node that differs from --node, words run together.
        expect(() => parseStepCommandLine(`${good}; rm -rf /`)).toThrow("not a step command line");
        expect(() => parseStepCommandLine(good.replace("rc=124", "rc=0"))).toThrow("not a step command line");
        expect(() => parseStepCommandLine(good.replace("'pve1' '10'", "'pve1' '99'"))).toThrow("not a step command line");
        expect(() => parseStepCommandLine(good.replace("'pve1' '10'", "'pve9' '10'"))).toThrow("not a step command line");
        expect(() => parseStepCommandLine(good.replace("'30' '4'", "'30' '5'"))).toThrow("not a step command line");
        expect(() => parseStepCommandLine(good.replace("'--root' '/'", "'--root''/'"))).toThrow("not a step command line");
        expect(() => parseStepCommandLine(good.replace("'verify'", "'reboot'"))).toThrow("not a step command line");
        expect(() => parseStepCommandLine(`sudo -- ${good}`)).toThrow("not a step command line");
        expect(parseStepCommandLine(good)).toEqual({ options: { root: "/", node: "pve1" } });
    });
    test("a command of several steps: each step its script, limit, argument count and arguments, in order; read back the same", () => {
        const steps: CommandStep[] = [
            { step: "services" as const, timeLimit: 30, args: { options: { root: "/", node: "pve1", to: "perl-only" } } },
            { step: "legacy-apply" as const, args: { options: { root: "/", node: "pve1" }, argv: ["pvenet-legacy", "apply"] } },
        ];
        const line = commandLine(steps, { sudo: true });
        expect(line).toBe(
            `sudo -n -- bash -c ${shQuote(STEP_RUNNER)} pve-migration-steps 'pve1' '10' 'services' '30' '6' '--root' '/' '--node' 'pve1' '--to' 'perl-only' ` +
                "'legacy-apply' '900' '7' '--root' '/' '--node' 'pve1' '--' 'pvenet-legacy' 'apply'",
        );
        expect(parseCommand(line)).toEqual({
            node: "pve1",
            killAfter: 10,
            sudo: true,
            steps: [
                { step: "services", timeLimit: 30, args: { options: { root: "/", node: "pve1", to: "perl-only" } } },
                { step: "legacy-apply", timeLimit: 900, args: { options: { root: "/", node: "pve1" }, argv: ["pvenet-legacy", "apply"] } },
            ],
        });
        expect(() => parseStepCommand(line)).toThrow("not a command of one step (2 steps)");
        expect(() => commandLine([steps[0], { ...steps[1], args: { options: { root: "/", node: "pve2" } } }])).toThrow(
            "step legacy-apply: --node pve2 differs from the command's node pve1",
        );
        expect(() => commandLine([])).toThrow("a command runs at least one step");
        // A count that runs past the end, or leaves a word over, is not what commandLine renders.
        expect(() => parseCommand(line.replace("'legacy-apply' '900' '7'", "'legacy-apply' '900' '9'"))).toThrow("not a step command line");
        expect(() => parseCommand(line.replace("'services' '30' '6'", "'services' '30' '4'"))).toThrow("not a step command line");
    });
});
