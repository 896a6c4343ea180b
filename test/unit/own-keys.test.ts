/**
 * User-named keys are looked up as own properties only: a name that Object.prototype answers
 * for (`constructor`, `toString`, ...) or `__proto__` never finds anything, so an SSH key
 * named so is a config error naming the key and the transport never passes a function as the
 * private key; the same for the verified nodes of a stack's outputs, flags and policy config.
 */
import { ConfigError, parseStackConfig } from "../../components/config/schema";
import { hasOwn, ownGet, setOwn } from "../../components/config/own";
import { parseMonitoringConfig } from "../../components/monitoring";
import { privateKeyOf } from "../../components/node/transport";
import { readDeployedOutputs, verifiedPhase } from "../../components/deployed";
import { main as ctlMain } from "../../cli/migration-ctl";
import { resolvePackConfig } from "../../components/policycheck/evaluate";
import { PACK_NAME, POLICIES } from "../../policies/pack";

/** Names that a plain `obj[name]` resolves through Object.prototype (or that set it). */
const PROTO_NAMES = [
    "constructor",
    "__proto__",
    "toString",
    "hasOwnProperty",
    "valueOf",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "__defineGetter__",
    "__lookupSetter__",
];
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n";

function values(sshKey: string, sshPrivateKeys: string = JSON.stringify({ default: KEY })): Record<string, string> {
    return {
        cluster: "pve-east",
        phase: "rust-read-only",
        perlApi: JSON.stringify({ baseUrl: "https://pve-east.example.internal:8006" }),
        package: JSON.stringify({ version: "0.4.2-1", sha256: "a".repeat(64), url: "https://apt.example.internal/p.deb" }),
        nodes: JSON.stringify([{ name: "pve1", address: "10.0.0.1", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1", sshKey }]),
        sshPrivateKeys,
    };
}
const parse = (v: Record<string, string>) => parseStackConfig({ values: v, secretKeys: new Set(["sshPrivateKeys"]), stack: "s", projectDir: "/" });
function errorsOf(v: Record<string, string>): string[] {
    try {
        parse(v);
    } catch (e) {
        return (e as ConfigError).errors;
    }
    return [];
}

describe("own keys: the helpers", () => {
    test.each(PROTO_NAMES.map((n) => [n]))("%s is no own key of {} and setOwn makes it one", (name) => {
        const o: Record<string, number> = {};
        expect([hasOwn(o, name), ownGet(o, name)]).toEqual([false, undefined]);
        setOwn(o, name, 7);
        expect([hasOwn(o, name), ownGet(o, name), Object.keys(o)]).toEqual([true, 7, [name]]);
        expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    });
});

describe("own keys: nodes[].sshKey and monitoring.rulesFile.host.sshKey", () => {
    test.each(PROTO_NAMES.map((n) => [n]))("sshKey %s is a config error naming the key", (name) => {
        expect(errorsOf(values(name))).toEqual([`pve-migration:nodes[0].sshKey: no key ${JSON.stringify(name)} in pve-migration:sshPrivateKeys`]);
    });

    test("a secret that itself has a __proto__ entry does not make __proto__ a key name", () => {
        expect(errorsOf(values("__proto__", `{"__proto__": ${JSON.stringify(KEY)}, "default": ${JSON.stringify(KEY)}}`))).toEqual([
            'pve-migration:nodes[0].sshKey: no key "__proto__" in pve-migration:sshPrivateKeys',
        ]);
    });

    test("an own key named like a prototype member is a key like any other", () => {
        const cfg = parse(values("toString", JSON.stringify({ toString: KEY })));
        expect([cfg.nodes[0].sshKey, cfg.sshKeyNames]).toEqual(["toString", ["toString"]]);
    });

    test.each(PROTO_NAMES.map((n) => [n]))("monitoring host sshKey %s is a config error naming the key", (name) => {
        const cfg = parse(values("default"));
        const monitoring = {
            alerts: { perlBaselineSeconds: 0.8 },
            rulesFile: { host: { name: "mon1", address: "10.0.0.9", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK9", sshKey: name } },
        };
        expect(() => parseMonitoringConfig(monitoring, cfg)).toThrow(ConfigError);
        try {
            parseMonitoringConfig(monitoring, cfg);
        } catch (e) {
            expect((e as ConfigError).errors).toEqual([
                `pve-migration:monitoring.rulesFile.host.sshKey: no key ${JSON.stringify(name)} in pve-migration:sshPrivateKeys`,
            ]);
        }
    });
});

describe("own keys: the SSH transport's private key", () => {
    test.each(PROTO_NAMES.map((n) => [n]))("key %s of a secret without it: an error, never a function", (name) => {
        expect(() => privateKeyOf({ default: KEY }, name)).toThrow(`pve-migration:sshKey: no key ${JSON.stringify(name)} in pve-migration:sshPrivateKeys`);
    });
    test("an own key is returned; a non-string or empty value is refused", () => {
        expect(privateKeyOf({ default: KEY, constructor: "k2" }, "constructor")).toBe("k2");
        expect(privateKeyOf({ default: KEY }, "default")).toBe(KEY);
        expect(() => privateKeyOf({ default: { nested: KEY } }, "default")).toThrow('no key "default"');
        expect(() => privateKeyOf({ default: "" }, "default")).toThrow('no key "default"');
    });
});

describe("own keys: verified nodes in a stack's outputs", () => {
    const at = "2026-01-01T00:00:00Z";
    test.each(["constructor", "toString", "valueOf", "hasOwnProperty"].map((n) => [n]))("a node named %s without a verify result is not verified", (name) => {
        expect(() => verifiedPhase({}, [name], "perl-only")).toThrow(`node ${name} has no verify result`);
        const outputs = {
            phase: "rust-read-only",
            transition: { id: "t1" },
            attempt: { from: "perl-only", to: "rust-read-only", id: "t1", floor: "perl-only", ceiling: "rust-read-only" },
            nodes: [name],
            verified: {},
        };
        const s = readDeployedOutputs(outputs);
        expect([s.complete, s.phase]).toEqual([false, "perl-only"]);
    });

    test("a __proto__ entry in the outputs' verified stays a plain entry (the prototype is unchanged)", () => {
        const verified = JSON.parse(`{"__proto__": {"phase": "rust-read-only", "at": "${at}", "transition": "t1"}}`);
        const s = readDeployedOutputs({ phase: "perl-only", verified });
        expect(Object.keys(s.verified)).toEqual(["__proto__"]);
        expect(Object.getPrototypeOf(s.verified)).toBe(Object.prototype);
        expect(ownGet(s.verified, "__proto__")).toEqual({ phase: "rust-read-only", at, transition: "t1" });
    });
});

describe("own keys: command-line flags and policy config", () => {
    test.each(PROTO_NAMES.filter((n) => n !== "__proto__").map((n) => [n]))("--%s is an unknown flag (commander looks options up in its list)", async (name) => {
        let stderr = "";
        const code = await ctlMain(["health", `--${name}`, "x"], { stdout: () => undefined, stderr: (t) => (stderr += t), cwd: "/", env: {} });
        expect([code, stderr]).toEqual([2, `migration-ctl: health: unknown flag --${name} (see migration-ctl health --help)\n`]);
    });

    test.each(PROTO_NAMES.filter((n) => n !== "__proto__").map((n) => [n]))("policy config key %s is not a policy", (name) => {
        const pack = { name: PACK_NAME, enforcementLevel: "mandatory" as const, policies: POLICIES };
        expect(() => resolvePackConfig(pack, { [name]: "advisory" })).toThrow(`policy config: ${name} is not a policy of pack ${PACK_NAME}`);
    });
});
