import { parse } from "smol-toml";
import { PHASES, phaseInfo } from "../../components/phases";
import { renderMigrationToml, renderMiddlewareUnit, renderRustUnit, stepCommandLine, parseStepCommandLine, shQuote } from "../../components/scripts";

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
            renderMigrationToml({ phase: "rust-read-only", fallbackEnabled: true, perlApiBaseUrl: "https://c:8006", perlApiTimeout: 60, logMigrationDecisions: false }),
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
    test("a non-root SSH user runs the step through sudo -n", () => {
        expect(stepCommandLine({ options: { root: "/", node: "pve1" } }, { sudo: true })).toBe("sudo -n -- bash -s -- '--root' '/' '--node' 'pve1'");
    });
    test("quoting: a single quote becomes '\\''", () => {
        expect(shQuote("it's")).toBe("'it'\\''s'");
    });
    test("a NUL cannot be passed", () => {
        expect(() => shQuote("a\0b")).toThrow("a shell argument cannot contain NUL");
    });
    test("parseStepCommandLine refuses what stepCommandLine did not render", () => {
        expect(() => parseStepCommandLine("rm -rf /")).toThrow("not a step command line");
    });
});
