import * as fs from "fs";
import * as path from "path";
import {
    DEFAULT_ENDPOINTS,
    SDN_ENDPOINTS,
    VOLATILE_FIELDS,
    VOLATILE_FIELD_NAMES,
    checkBaseUrl,
    checkEndpoint,
    compareAnswers,
    diffJson,
    exitCodeFor,
    forNode,
    joinUrl,
    normalise,
    totals,
    NodeResult,
} from "../../components/gates/contract";
import { readToken } from "../../components/gates/contract-cli";
import { parseContractArgs } from "../../cli/contract-test";
import { UsageError } from "../../cli/errors";
import { tempDir } from "./helpers";

describe("normalise", () => {
    test.each([
        ["sorts object keys at every depth", { b: 1, a: { d: 2, c: 3 } }, '{"a":{"c":3,"d":2},"b":1}'],
        ["drops volatile fields at every depth", { digest: "x", data: [{ iface: "a", mtime: 5, uptime: 1, ctime: 2 }] }, '{"data":[{"iface":"a"}]}'],
        [
            "sorts a list of objects by a unique identity key",
            { data: [{ iface: "vmbr1" }, { iface: "eno1" }, { iface: "vmbr0" }] },
            '{"data":[{"iface":"eno1"},{"iface":"vmbr0"},{"iface":"vmbr1"}]}',
        ],
        [
            "keeps the order when the identity key is not unique",
            { data: [{ zone: "b" }, { zone: "a" }, { zone: "b" }] },
            '{"data":[{"zone":"b"},{"zone":"a"},{"zone":"b"}]}',
        ],
        ["keeps the order when an element lacks the key", { data: [{ vnet: "b" }, { x: 1 }] }, '{"data":[{"vnet":"b"},{"x":1}]}'],
        ["keeps the order of scalar lists", { families: ["inet6", "inet"] }, '{"families":["inet6","inet"]}'],
        [
            "uses the first identity key present in all elements",
            {
                data: [
                    { storage: "b", id: 1 },
                    { storage: "a", id: 2 },
                ],
            },
            '{"data":[{"id":2,"storage":"a"},{"id":1,"storage":"b"}]}',
        ],
        ["keeps scalars", { n: null, t: true, x: 1.5, s: "s" }, '{"n":null,"s":"s","t":true,"x":1.5}'],
    ])("%s", (_name, input, expected) => {
        expect(JSON.stringify(normalise(input))).toBe(expected);
    });

    test("does not change its input", () => {
        const input = { b: 1, digest: "d", data: [{ iface: "z" }, { iface: "a" }] };
        const copy = JSON.parse(JSON.stringify(input));
        normalise(input);
        expect(input).toEqual(copy);
    });

    test("the volatile list is documented: each field has a reason", () => {
        expect(VOLATILE_FIELD_NAMES).toEqual(["digest", "ctime", "mtime", "uptime"]);
        for (const f of VOLATILE_FIELDS) expect(f.reason.length).toBeGreaterThan(20);
    });
});

describe("diffJson / compareAnswers", () => {
    test.each([
        ["identical", { data: [1, 2] }, { data: [1, 2] }, []],
        [
            "a differing field in a list element",
            { data: [{ iface: "a", cidr: "10.0.0.0/24" }] },
            { data: [{ iface: "a", cidr: "10.0.1.0/24" }] },
            ['data[0].cidr: perl "10.0.0.0/24" != rust "10.0.1.0/24"'],
        ],
        ["a field missing on the rust side", { data: { a: 1, b: 2 } }, { data: { a: 1 } }, ["data.b: perl 2 != rust (absent)"]],
        ["a field only on the rust side", { data: {} }, { data: { extra: [1] } }, ["data.extra: perl (absent) != rust [1]"]],
        ["a longer list", { data: [1] }, { data: [1, 2] }, ["data[1]: perl (absent) != rust 2"]],
        ["a type change", { data: { port: 8006 } }, { data: { port: "8006" } }, ['data.port: perl 8006 != rust "8006"']],
        ["null against a value", { data: null }, { data: [] }, ["data: perl null != rust []"]],
        ["odd keys are quoted", { data: { "a b": 1 } }, { data: { "a b": 2 } }, ['data["a b"]: perl 1 != rust 2']],
        ["root mismatch", [1], { data: 1 }, ['(root): perl [1] != rust {"data":1}']],
    ])("%s", (_name, perl, rust, expected) => {
        expect(compareAnswers(perl, rust).map((d) => d.text)).toEqual(expected);
    });

    test("differences carry path and both values as JSON", () => {
        expect(diffJson({ data: { a: "x" } }, { data: {} })).toEqual([{ path: "data.a", perl: '"x"', rust: null, text: 'data.a: perl "x" != rust (absent)' }]);
    });

    test("reordered keys and a reordered identified list compare equal", () => {
        const perl = {
            data: [
                { iface: "eno1", type: "eth", active: 1 },
                { iface: "vmbr0", type: "bridge", cidr: "10.0.0.2/24" },
            ],
        };
        const rust = {
            data: [
                { cidr: "10.0.0.2/24", type: "bridge", iface: "vmbr0" },
                { active: 1, iface: "eno1", type: "eth" },
            ],
        };
        expect(compareAnswers(perl, rust)).toEqual([]);
    });

    test("volatile fields differ: no difference; a custom list can make them count", () => {
        const perl = { digest: "aaa", data: [{ storage: "local", mtime: 1 }] };
        const rust = { digest: "bbb", data: [{ storage: "local", mtime: 2 }] };
        expect(compareAnswers(perl, rust)).toEqual([]);
        expect(compareAnswers(perl, rust, []).map((d) => d.text)).toEqual(["data[0].mtime: perl 1 != rust 2", 'digest: perl "aaa" != rust "bbb"']);
    });

    test("long values are clipped in the report", () => {
        const d = compareAnswers({ data: "x".repeat(500) }, { data: "y" });
        expect(d[0].perl).toBe(`"${"x".repeat(199)}...(502 chars)`);
    });
});

describe("URLs and endpoints", () => {
    test("forNode encodes the node name; joinUrl joins with one slash", () => {
        expect(forNode("https://{node}:8006", "pve1")).toBe("https://pve1:8006");
        expect(forNode("/api2/json/nodes/{node}/network", "a b")).toBe("/api2/json/nodes/a%20b/network");
        expect(joinUrl("https://pve1:8006/", "/api2/json/storage")).toBe("https://pve1:8006/api2/json/storage");
        expect(joinUrl("https://x/prefix", "api2/json/storage")).toBe("https://x/prefix/api2/json/storage");
    });

    test.each([
        ["https://pve1:8006", null],
        ["https://{node}:8006", null],
        ["http://pve1:8006", "must be an https:// URL (TLS is never optional)"],
        ["https://root:pw@pve1:8006", "must not contain credentials (use --token-file or PVE_API_TOKEN)"],
        ["https://pve1:8006/?x=1", "must not contain a query or fragment"],
        ["pve1:8006", "must be an https:// URL (TLS is never optional)"],
        ["not a url", "must be a URL such as https://pve1:8006"],
    ])("checkBaseUrl(%s)", (u, why) => {
        expect(checkBaseUrl(u)).toBe(why);
    });

    test.each([
        ["/api2/json/storage", null],
        ["api2/json/storage", "must start with /"],
        ["/api2/json/storage?x=1", "must be a path without spaces, query or fragment"],
    ])("checkEndpoint(%s)", (e, why) => {
        expect(checkEndpoint(e)).toBe(why);
    });

    test("default endpoints and the SDN subset", () => {
        expect(DEFAULT_ENDPOINTS).toEqual(["/api2/json/nodes/{node}/network", "/api2/json/cluster/sdn/zones", "/api2/json/cluster/sdn/vnets", "/api2/json/storage"]);
        expect(SDN_ENDPOINTS).toEqual(["/api2/json/cluster/sdn/zones", "/api2/json/cluster/sdn/vnets"]);
    });
});

describe("totals and exit codes", () => {
    const ep = (status: "pass" | "fail" | "error") => ({ endpoint: "/e", perlUrl: "p", rustUrl: "r", status, differences: [], errors: [] });
    test.each<[string, NodeResult[], object, number]>([
        ["all pass", [{ node: "a", endpoints: [ep("pass"), ep("pass")] }], { endpointsCompared: 2, passed: 2, failed: 0, errors: 0 }, 0],
        [
            "a difference",
            [
                { node: "a", endpoints: [ep("pass")] },
                { node: "b", endpoints: [ep("fail")] },
            ],
            { endpointsCompared: 2, passed: 1, failed: 1, errors: 0 },
            1,
        ],
        ["an error wins over a difference", [{ node: "a", endpoints: [ep("fail"), ep("error")] }], { endpointsCompared: 2, passed: 0, failed: 2, errors: 1 }, 3],
        ["nothing compared is not a pass", [], { endpointsCompared: 0, passed: 0, failed: 0, errors: 0 }, 1],
    ])("%s", (_n, nodes, expected, code) => {
        const t = totals(nodes);
        expect(t).toEqual(expected);
        expect(exitCodeFor(t)).toBe(code);
    });
});

describe("parseContractArgs", () => {
    const base = ["--node", "pve1", "--perl-url", "https://pve1:8006", "--rust-url", "https://pve1:8007", "--output", "r.json"];

    test("defaults", () => {
        const a = parseContractArgs(base);
        expect(a.options).toEqual({
            nodes: ["pve1"],
            perlUrl: "https://pve1:8006",
            rustUrl: "https://pve1:8007",
            endpoints: DEFAULT_ENDPOINTS,
            timeoutMs: 30000,
            retries: 2,
            retryDelayMs: 1000,
        });
        expect(a.output).toBe("r.json");
        expect(a.evidence).toBeUndefined();
    });

    test("all flags", () => {
        const a = parseContractArgs([
            ...base,
            "--node",
            "pve2",
            "--timeout",
            "2.5",
            "--retries",
            "0",
            "--retry-delay=0",
            "--endpoints",
            "/a/{node}, /b",
            "--ca",
            "ca.pem",
            "--token-file",
            "t",
            "--stack",
            "canary-a",
            "--phase",
            "rust-read-only",
            "--phase-entered-at",
            "2024-05-01T10:00:00+02:00",
        ]);
        expect(a.options.nodes).toEqual(["pve1", "pve2"]);
        expect(a.options.endpoints).toEqual(["/a/{node}", "/b"]);
        expect(a.options.timeoutMs).toBe(2500);
        expect(a.options.retries).toBe(0);
        expect(a.options.retryDelayMs).toBe(0);
        expect(a.caFile).toBe("ca.pem");
        expect(a.tokenFile).toBe("t");
        expect(a.evidence).toEqual({ stack: "canary-a", phase: "rust-read-only", phaseEnteredAt: "2024-05-01T08:00:00.000Z" });
    });

    test("--sdn selects the SDN endpoints", () => {
        expect(parseContractArgs([...base, "--sdn"]).options.endpoints).toEqual(SDN_ENDPOINTS);
    });

    test.each([
        [["--perl-url", "https://a", "--rust-url", "https://b", "--output", "o"], "--node: at least one node is required"],
        [[...base, "--node", "pve1"], "--node: a node is listed twice"],
        [[...base, "--node", "bad;name"], '--node: "bad;name" is not a Proxmox VE node name'],
        [["--node", "a", "--perl-url", "https://a", "--output", "o"], "--rust-url: required (https://host:8006; {node} is replaced by the node name)"],
        [
            ["--node", "a", "--perl-url", "http://a", "--rust-url", "https://b", "--output", "o"],
            '--perl-url: must be an https:// URL (TLS is never optional) (got "http://a")',
        ],
        [["--node", "a", "--perl-url", "https://a", "--rust-url", "https://b"], "--output: required (the report file)"],
        [[...base, "--timeout", "0"], '--timeout: must be greater than 0 (got "0")'],
        [[...base, "--retries", "1.5"], '--retries: must be a whole number (got "1.5")'],
        [[...base, "--retries", "x"], '--retries: must be a number (got "x")'],
        [[...base, "--endpoints", "api2/json"], '--endpoints: "api2/json" must start with /'],
        [[...base, "--endpoints", "/a", "--sdn"], "--endpoints and --sdn: give one of them"],
        [[...base, "--stack", "s"], "--stack, --phase and --phase-entered-at: give all three or none"],
        [
            [...base, "--stack", "s", "--phase", "rust-fast", "--phase-entered-at", "2024-05-01T10:00:00Z"],
            '--phase: must be one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full (got "rust-fast")',
        ],
        [
            [...base, "--stack", "s", "--phase", "perl-only", "--phase-entered-at", "yesterday"],
            '--phase-entered-at: must be an ISO 8601 time with an offset such as 2024-05-01T10:00:00Z (got "yesterday")',
        ],
        [[...base, "--insecure"], "unknown flag --insecure"],
        [[...base, "--output"], "--output needs a value"],
        [[...base, "extra"], 'unexpected argument "extra"'],
    ])("usage error %#", (argv, message) => {
        expect(() => parseContractArgs(argv)).toThrow(new UsageError(message));
    });
});

describe("readToken", () => {
    const good = "root@pam!contract=0b5c2c4e-8f1a-4bb7-9a3e-1d2e3f4a5b6c";
    let dir: string;
    beforeAll(() => {
        dir = tempDir("token-");
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("from a file (trailing newline dropped) wins over the environment", () => {
        const f = path.join(dir, "t");
        fs.writeFileSync(f, `${good}\n`);
        expect(readToken(f, { PVE_API_TOKEN: "other@pam!x=y" })).toBe(good);
    });

    test("from PVE_API_TOKEN", () => {
        expect(readToken(undefined, { PVE_API_TOKEN: good })).toBe(good);
    });

    test.each([
        [undefined, {}, "no API token: give --token-file FILE or set PVE_API_TOKEN (USER@REALM!TOKENID=SECRET)"],
        [undefined, { PVE_API_TOKEN: "root@pam!x=a\r\nX-Evil: 1" }, "PVE_API_TOKEN: the token must be one line of printable ASCII without spaces"],
        [undefined, { PVE_API_TOKEN: "justasecret" }, "PVE_API_TOKEN: the token must look like USER@REALM!TOKENID=SECRET"],
    ])("refused %#", (file, env, message) => {
        expect(() => readToken(file, env as NodeJS.ProcessEnv)).toThrow(new UsageError(message));
    });

    test("an unreadable file names the flag, not the token", () => {
        const f = path.join(dir, "missing");
        expect(() => readToken(f, {})).toThrow(new UsageError(`--token-file: cannot read ${f}: ENOENT`));
    });

    test("a malformed token in a file is never echoed", () => {
        const f = path.join(dir, "bad");
        fs.writeFileSync(f, "s3cr3t-value-without-format\n");
        let msg = "";
        try {
            readToken(f, {});
        } catch (e) {
            msg = (e as Error).message;
        }
        expect(msg).toBe(`--token-file ${f}: the token must look like USER@REALM!TOKENID=SECRET`);
        expect(msg).not.toContain("s3cr3t");
    });
});
