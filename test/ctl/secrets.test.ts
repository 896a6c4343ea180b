/**
 * Both forms of the secret sshPrivateKeys work with every migration-ctl command: per leaf
 * (`pulumi config set --secret --path 'sshPrivateKeys.default'`, a `{secure: ...}` under each
 * name) and the whole object as ONE secure value (`pulumi config set --secret
 * pve-migration:sshPrivateKeys '<json>'`, `pve-migration:sshPrivateKeys: {secure: v1:...}`).
 * Neither the ciphertext nor a key is ever printed.
 */
import { TestRepo } from "./helpers";

const FORMS: [string, unknown][] = [
    ["per leaf", { default: { secure: "v1:AAAAperLeafCiphertext" } }],
    ["whole object", { secure: "v1:AAAAwholeObjectCiphertext" }],
];
const NOW = "2026-11-01T12:00:00Z";

let repo: TestRepo;
let base: string;
beforeEach(() => {
    repo = new TestRepo();
    repo.setPhases({ "canary-a": "rust-read-only", "canary-b": "perl-only", prod: "perl-only", dev: "perl-only" });
    base = repo.commit("baseline");
});
afterEach(() => repo.cleanup());

function withSecret(keys: unknown): void {
    for (const stack of ["canary-a", "canary-b", "prod"]) repo.setConfig(stack, "sshPrivateKeys", keys as never);
}

describe.each(FORMS)("sshPrivateKeys as a secret %s", (form, keys) => {
    const commands: [string, () => string[], number, RegExp][] = [
        ["phase get", () => ["phase", "get", "--stack", "canary-a", "--json"], 0, /"phase": "rust-read-only",\n\s+"configValid": true/],
        ["phase set (dry run)", () => ["phase", "set", "perl-only", "--stack", "canary-a", "--dry-run"], 0, /^--- a\/stacks\/Pulumi\.canary-a\.yaml/],
        ["rollback (dry run)", () => ["rollback", "--stack", "canary-a", "--to", "perl-only", "--dry-run"], 0, /-  pve-migration:phase: rust-read-only/],
        ["plan", () => ["plan", "--stack", "canary-a", "--from", "rust-read-only", "--to", "perl-only"], 0, /pve-east-01/],
        ["health", () => ["health", "--json", "--now", NOW], 10, /"status": "deployed-unknown",\n\s+"ok": false,\n\s+"problems": \[\]/],
        ["check", () => ["check", "--base", base, "--json", "--now", NOW], 0, /"ok": true/],
        ["color get", () => ["color", "get", "--stack", "canary-a", "--now", NOW], 0, /blue|green/],
        [
            "diagnostics collect (reads the stack file)",
            () => ["diagnostics", "collect", "--stack", "canary-a", "--node", "nope"],
            2,
            /"nope" is not a node of stack canary-a \(pve-east-01\)/,
        ],
    ];
    test.each(commands)(`${form}: %s works on the stack`, async (_name, args, code, expected) => {
        withSecret(keys);
        repo.commit(`sshPrivateKeys ${form}`);
        const r = await repo.ctl(args());
        expect(`${r.stdout}${r.stderr}`).toMatch(expected);
        expect([r.code, r.stderr.includes("invalid stack config")]).toEqual([code, false]);
        expect(`${r.stdout}${r.stderr}`).not.toMatch(/v1:AAAA|sshPrivateKeys: must be/);
    });
});

test("a whole-object secret does not hide a plaintext secret elsewhere: kubeconfig in plain text is still refused", async () => {
    withSecret({ secure: "v1:AAAAwholeObjectCiphertext" });
    repo.setConfig("canary-a", "kubeconfig", "apiVersion: v1");
    repo.commit("plaintext kubeconfig");
    const r = await repo.ctl(["phase", "set", "perl-only", "--stack", "canary-a", "--dry-run"]);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain("pve-migration:kubeconfig: must be a Pulumi secret");
});
