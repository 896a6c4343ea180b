/**
 * The chart shipped in the repo: the values the component passes for every example stack
 * validate against values.schema.json (as Helm checks at install), wrong values fail it, and the
 * templates only read values the schema defines. (A real Helm renders and lints the chart in helm.test.ts.)
 */
import * as fs from "fs";
import * as path from "path";
import Ajv, { ErrorObject } from "ajv";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import type * as BlueGreen from "../../components/bluegreen";
import { CHART_DIR, EXAMPLE_STACKS, PROJECT_DIR, edited, exampleBlueGreen, record } from "./helpers";

let bg: typeof BlueGreen;
beforeAll(async () => {
    await pulumi.runtime.setMocks(
        {
            newResource: () => {
                throw new Error("no resource expected before the first test");
            },
            call: (a) => {
                throw new Error(`unmocked call ${a.token}`);
            },
        },
        "pve-network-migration",
        "test",
        false,
    );
    bg = await import("../../components/bluegreen");
});

const schema = JSON.parse(fs.readFileSync(path.join(CHART_DIR, "values.schema.json"), "utf8"));
const defaults = YAML.parse(fs.readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8"));
const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(schema);

function errors(values: unknown): Pick<ErrorObject, "instancePath" | "message">[] {
    return validate(values) ? [] : validate.errors!.map((e) => ({ instancePath: e.instancePath, message: e.message }));
}

/** Helm's coalescing of user values over the chart's values.yaml: maps merge, the rest replaces. */
function coalesce(base: unknown, over: unknown): unknown {
    const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
    if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = coalesce(base[k], v);
    return out;
}

/** The `values` input of every Release the component registers for an example stack. */
async function registeredValues(stack: (typeof EXAMPLE_STACKS)[number], now = new Date("2025-06-01T10:00:00Z")): Promise<Record<string, any>[]> {
    const regs = await record(() => {
        const c = new bg.BlueGreenRelease("bg", {
            config: bg.parseBlueGreenConfig(exampleBlueGreen(stack)),
            kubeconfig: "apiVersion: v1\n",
            now,
            projectDir: PROJECT_DIR,
        });
        return [c, ...Object.values(c.releases)];
    });
    return regs.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.inputs.values);
}

describe("values.schema.json", () => {
    test("is a draft-07 schema", () => {
        expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    });

    test.each(EXAMPLE_STACKS)("%s: the values of both releases validate, alone and over values.yaml", async (stack) => {
        const all = await registeredValues(stack);
        expect(all.map((v) => v.color)).toEqual(["blue", "green"]);
        for (const values of all) {
            expect(errors(values)).toEqual([]);
            expect(errors(coalesce(defaults, values))).toEqual([]);
        }
    });

    test("a scaled-down idle release (replicaCount 0) validates", async () => {
        const raw = bg.applyColorFragment(exampleBlueGreen("prod"), {
            activeColor: "green",
            lastFlip: { at: "2025-06-01T10:00:00Z", from: "blue", version: "0.4.2", imageTag: "0.4.2" },
            rollbackTarget: false,
        });
        const regs = await record(() => {
            const c = new bg.BlueGreenRelease("bg", {
                config: bg.parseBlueGreenConfig(raw),
                kubeconfig: "x",
                now: new Date("2025-06-02T00:00:00Z"),
                projectDir: PROJECT_DIR,
            });
            return [c, ...Object.values(c.releases)];
        });
        const blue = regs.find((r) => r.name === "bg-blue")!.inputs.values;
        expect(blue.replicaCount).toBe(0);
        expect(errors(blue)).toEqual([]);
    });

    test("values.yaml alone fails only for the image repository it leaves to the stack", () => {
        expect(errors(defaults)).toEqual([
            { instancePath: "/image/repository", message: 'must match pattern "^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)+$"' },
        ]);
    });

    describe("wrong values fail", () => {
        let good: Record<string, any>;
        beforeAll(async () => {
            good = (await registeredValues("prod"))[0];
            expect(errors(good)).toEqual([]);
        });
        const cases: [string, (v: any) => void, Pick<ErrorObject, "instancePath" | "message">[]][] = [
            ["string replica count", (v) => (v.replicaCount = "3"), [{ instancePath: "/replicaCount", message: "must be integer" }]],
            ["negative replica count", (v) => (v.replicaCount = -1), [{ instancePath: "/replicaCount", message: "must be >= 0" }]],
            [
                "missing liveness probe path",
                (v) => delete v.probes.liveness.path,
                [{ instancePath: "/probes/liveness", message: "must have required property 'path'" }],
            ],
            [
                "missing readiness probe path",
                (v) => delete v.probes.readiness.path,
                [{ instancePath: "/probes/readiness", message: "must have required property 'path'" }],
            ],
            [
                "relative probe path",
                (v) => (v.probes.readiness.path = "health/ready"),
                [{ instancePath: "/probes/readiness/path", message: 'must match pattern "^/[A-Za-z0-9._~/-]*$"' }],
            ],
            ["unknown color", (v) => (v.color = "red"), [{ instancePath: "/color", message: "must be equal to one of the allowed values" }]],
            ["missing color", (v) => delete v.color, [{ instancePath: "", message: "must have required property 'color'" }]],
            ["unknown top-level key", (v) => (v.activeColor = "blue"), [{ instancePath: "", message: "must NOT have additional properties" }]],
            [
                "memory without unit suffix typo",
                (v) => (v.resources.limits.memory = "512MB"),
                [{ instancePath: "/resources/limits/memory", message: 'must match pattern "^[0-9]+(\\.[0-9]+)?(k|M|G|T|Ki|Mi|Gi|Ti)?$"' }],
            ],
            ["missing rollback block", (v) => delete v.rollback, [{ instancePath: "", message: "must have required property 'rollback'" }]],
            [
                "error rate as a percentage",
                (v) => (v.rollback.triggers[1] = { errorRateThreshold: 10 }),
                [
                    { instancePath: "/rollback/triggers/1", message: "must have required property 'healthCheckFailures'" },
                    { instancePath: "/rollback/triggers/1", message: "must NOT have additional properties" },
                    { instancePath: "/rollback/triggers/1/errorRateThreshold", message: "must be <= 1" },
                    { instancePath: "/rollback/triggers/1", message: "must have required property 'responseTimeThreshold'" },
                    { instancePath: "/rollback/triggers/1", message: "must NOT have additional properties" },
                    { instancePath: "/rollback/triggers/1", message: "must match exactly one schema in oneOf" },
                ],
            ],
        ];
        test.each(cases)("%s", (_name, mutate, expected) => {
            expect(errors(edited(good, mutate))).toEqual(expected);
        });
    });
});

describe("chart files", () => {
    test("Chart.yaml: apiVersion v2, named like its folder", () => {
        const chart = YAML.parse(fs.readFileSync(path.join(CHART_DIR, "Chart.yaml"), "utf8"));
        expect({ apiVersion: chart.apiVersion, name: chart.name, type: chart.type }).toEqual({ apiVersion: "v2", name: "pve-network-rs", type: "application" });
        expect(path.basename(bg.DEFAULT_CHART_PATH)).toBe(chart.name);
        expect(chart.version).toMatch(/^\d+\.\d+\.\d+$/);
    });

    test("values.yaml carries the runbook's rollback block and probe paths", () => {
        expect(defaults.rollback).toEqual({
            enabled: true,
            automatic: true,
            triggers: [{ healthCheckFailures: 3 }, { errorRateThreshold: 0.1 }, { responseTimeThreshold: 5000 }],
            cooldownPeriod: 300,
            maximumRetries: 5,
        });
        expect([defaults.probes.liveness.path, defaults.probes.readiness.path]).toEqual(["/health/live", "/health/ready"]);
    });

    const templates = fs
        .readdirSync(path.join(CHART_DIR, "templates"))
        .sort()
        .map((f) => ({ file: f, text: fs.readFileSync(path.join(CHART_DIR, "templates", f), "utf8") }));
    const refs = [...new Set(templates.flatMap((t) => [...t.text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map((m) => m[1].slice(1))))].sort();

    /** The schema node at a dotted values path, following local $refs; undefined if not defined. */
    function schemaAt(p: string): any {
        let node: any = schema;
        for (const part of p.split(".")) {
            if (node?.$ref)
                node = node.$ref
                    .slice(2)
                    .split("/")
                    .reduce((n: any, k: string) => n[k], schema);
            node = node?.properties?.[part];
        }
        return node;
    }

    test("the templates read exactly these values, each defined by the schema", () => {
        expect(templates.map((t) => t.file)).toEqual(["_helpers.tpl", "deployment.yaml", "rollback-configmap.yaml", "service.yaml"]);
        expect(refs).toEqual([
            "color",
            "containerPort",
            "image.pullPolicy",
            "image.repository",
            "image.tag",
            "partOf",
            "probes.liveness.failureThreshold",
            "probes.liveness.path",
            "probes.liveness.periodSeconds",
            "probes.readiness.failureThreshold",
            "probes.readiness.path",
            "probes.readiness.periodSeconds",
            "replicaCount",
            "resources",
            "rollback",
            "service.enabled",
            "service.port",
            "version",
        ]);
        expect(refs.filter((r) => schemaAt(r) === undefined)).toEqual([]);
    });

    test("every required value is used by a template (no dead schema keys)", () => {
        const unused = (schema.required as string[]).filter((k) => !refs.some((r) => r === k || r.startsWith(`${k}.`)));
        expect(unused).toEqual([]);
    });

    test("the deployment probes and labels are wired to the values", () => {
        const dep = templates.find((t) => t.file === "deployment.yaml")!.text;
        expect(dep).toContain("path: {{ .Values.probes.liveness.path | quote }}");
        expect(dep).toContain("path: {{ .Values.probes.readiness.path | quote }}");
        expect(dep).toContain("replicas: {{ .Values.replicaCount }}");
        expect(dep).toContain("{{- toYaml .Values.resources | nindent 12 }}");
        const helpers = templates.find((t) => t.file === "_helpers.tpl")!.text;
        expect(helpers.match(/^color: \{\{ \.Values\.color \}\}$/gm)).toHaveLength(2);
    });
});
