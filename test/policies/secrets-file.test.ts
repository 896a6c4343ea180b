/**
 * Plaintext leaves of secret-class config keys in a stack file: the engine
 * calls an object with one `secure:` leaf secret as a whole, so the leaves are read from the
 * stack file itself.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../../components/config/schema";
import { plaintextSecretKeys, plaintextSecretLeaves } from "../../components/config/secrets-file";
import { isSecureValue, parseStackFile, readStackFile } from "../../components/config/stackfile";
import { stackFileConfig } from "../../components/program";
import YAML from "yaml";
import { PROJECT_DIR, STACKS, copy, editKeepers, messages, record, stackConfig } from "./helpers";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
const SECURE = { secure: "v1:AAAAencrypted" };

describe("plaintextSecretLeaves", () => {
    const cases: [string, Record<string, unknown>, string[]][] = [
        ["one secure leaf beside a plaintext one", { "pve-migration:sshPrivateKeys": { default: SECURE, backup: KEY } }, ["pve-migration:sshPrivateKeys.backup"]],
        ["the whole object secure", { "pve-migration:sshPrivateKeys": SECURE }, []],
        ["every leaf secure", { "pve-migration:sshPrivateKeys": { default: SECURE, backup: SECURE } }, []],
        ["a plaintext kubeconfig", { "pve-migration:kubeconfig": "apiVersion: v1\nkind: Config\n" }, ["pve-migration:kubeconfig"]],
        [
            "nested maps and lists, by dot path",
            { "pve-migration:sshPrivateKeys": { ring: { a: SECURE, b: "x" }, list: [SECURE, "y"], n: 7 } },
            ["pve-migration:sshPrivateKeys.ring.b", "pve-migration:sshPrivateKeys.list[1]", "pve-migration:sshPrivateKeys.n"],
        ],
        ["an unset (null) leaf or an empty map holds nothing", { "pve-migration:sshPrivateKeys": { default: null, other: {} } }, []],
        [
            "keys that are not secret-class are not read",
            { "pve-migration:cluster": "pve-east", "pve-migration:perlApi": { baseUrl: "https://x:8006" }, "other:kubeconfig": "plain" },
            [],
        ],
        [
            "both keys, in the file's order",
            { "pve-migration:kubeconfig": "plain", "pve-migration:sshPrivateKeys": { default: "plain" } },
            ["pve-migration:kubeconfig", "pve-migration:sshPrivateKeys.default"],
        ],
    ];
    test.each(cases)("%s", (_what, config, expected) => {
        expect(plaintextSecretLeaves(config)).toEqual(expected);
    });

    test("a map with more than `secure` is not a secure value", () => {
        expect(isSecureValue({ secure: "v1:x" })).toBe(true);
        expect(isSecureValue({ secure: "v1:x", note: "y" })).toBe(false);
        expect(isSecureValue({ secure: 1 })).toBe(false);
        expect(plaintextSecretLeaves({ "pve-migration:kubeconfig": { secure: "v1:x", note: "y" } })).toEqual([
            "pve-migration:kubeconfig.secure",
            "pve-migration:kubeconfig.note",
        ]);
    });

    test.each(STACKS)("the example stack %s holds no plaintext secret leaf", (stack) => {
        expect(plaintextSecretLeaves(readStackFile(PROJECT_DIR, stack).configMap)).toEqual([]);
    });

    test("the engine's view calls the mixed object secret as a whole: only the leaves show the plaintext one", () => {
        const doc = stackConfig("canary-b", (c) => (c["pve-migration:sshPrivateKeys"] = { default: SECURE, backup: KEY }));
        expect(parseStackFile(YAML.stringify({ config: doc }), "canary-b", "f", PROJECT_DIR).engineSecretKeys).toEqual(["pve-migration:sshPrivateKeys"]);
        expect(plaintextSecretLeaves(doc)).toEqual(["pve-migration:sshPrivateKeys.backup"]);
    });
});

describe("plaintextSecretKeys (the record's list)", () => {
    test("the engine's whole keys, then the file's leaves without the namespace, each once", () => {
        const file = { "pve-migration:kubeconfig": "plain", "pve-migration:sshPrivateKeys": { default: SECURE, backup: KEY, spare: KEY } };
        expect(plaintextSecretKeys(["kubeconfig"], file)).toEqual(["kubeconfig", "sshPrivateKeys.backup", "sshPrivateKeys.spare"]);
        expect(plaintextSecretKeys(["sshPrivateKeys"], { "pve-migration:sshPrivateKeys": { default: KEY } })).toEqual(["sshPrivateKeys"]);
        expect(plaintextSecretKeys([], undefined)).toEqual([]);
    });

    test("no-plaintext-secrets names the leaf the record carries", async () => {
        const rec = await record("canary-b");
        const rs = editKeepers(copy(rec.resources), (k) => (k.plaintextSecretKeys = "sshPrivateKeys.backup"));
        expect(await messages("no-plaintext-secrets", rs)).toEqual([
            "stack config pve-migration:sshPrivateKeys.backup is not a Pulumi secret: set it with pulumi config set --secret (the value is in plaintext in the stack file)",
        ]);
    });

    test("the offline check reports the leaves of the stack file it checks", async () => {
        const doc = stackConfig("canary-b", (c) => (c["pve-migration:sshPrivateKeys"] = { default: SECURE, backup: KEY }));
        expect((await record("canary-b", { stackConfig: doc })).plaintextSecretLeaves).toEqual(["pve-migration:sshPrivateKeys.backup"]);
        expect((await record("canary-b")).plaintextSecretLeaves).toEqual([]);
    });
});

describe("the stack file the program reads for the leaves (stackFileConfig, through the one reader)", () => {
    let tmp: string;
    beforeAll(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-file-"));
        fs.mkdirSync(path.join(tmp, "stacks"));
    });
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    test("no stack file: undefined", () => {
        expect(stackFileConfig(tmp, "nowhere")).toBeUndefined();
    });
    test("the config map", () => {
        fs.writeFileSync(
            path.join(tmp, "stacks", "Pulumi.s.yaml"),
            "config:\n  pve-migration:sshPrivateKeys:\n    default:\n      secure: v1:x\n    backup: plain\n",
        );
        expect(stackFileConfig(tmp, "s")).toEqual({ "pve-migration:sshPrivateKeys": { default: { secure: "v1:x" }, backup: "plain" } });
    });
    test("not YAML: a ConfigError naming the file", () => {
        const file = path.join(tmp, "stacks", "Pulumi.bad.yaml");
        fs.writeFileSync(file, "config: [\n");
        expect(() => stackFileConfig(tmp, "bad")).toThrow(ConfigError);
        expect(() => stackFileConfig(tmp, "bad")).toThrow(
            new ConfigError([`${file}: malformed YAML at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]`]),
        );
    });
});
