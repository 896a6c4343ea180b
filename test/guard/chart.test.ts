/**
 * The rollback guard's chart (charts/rollback-guard) rendered by a real Helm (test/support/helm.ts:
 * lint and template, no cluster): one replica that never overlaps another (Recreate), the guard's
 * command line, the state volume that outlives a pod, the webhook URL from a Secret, the Pulumi
 * token from a Secret; what a release must set is refused by name when missing.
 */
import * as path from "path";
import { helmLint, helmTemplate } from "../support/helm";

const CHART = path.join(__dirname, "../../charts/rollback-guard");
const VALUES = {
    stack: "prod",
    image: { repository: "registry.example.com/pve/pve-network-migration", tag: "0.1.0" },
    state: { existingClaim: "rollback-guard-prod" },
    webhook: { secretName: "guard-webhook" },
    pulumiAccessToken: { secretName: "pulumi-token" },
};

test("helm lint passes with a release's values; the Deployment runs migration-ctl guard for the stack, one replica, Recreate", () => {
    const lint = helmLint(CHART, VALUES);
    expect([lint.status, lint.stderr]).toEqual([0, ""]);
    const objs = helmTemplate({ releaseName: "guard-prod", chartDir: CHART, namespace: "pve-migration", values: VALUES });
    expect(objs.map((o) => [o.kind, o.metadata.name, o.metadata.namespace])).toEqual([["Deployment", "rollback-guard-prod", "pve-migration"]]);
    const d = objs[0];
    expect([d.spec.replicas, d.spec.strategy, d.spec.template.spec.terminationGracePeriodSeconds]).toEqual([1, { type: "Recreate" }, 900]);
    const c = d.spec.template.spec.containers[0];
    expect([c.image, c.workingDir, c.command, c.args]).toEqual([
        "registry.example.com/pve/pve-network-migration:0.1.0",
        "/srv/pve-network-migration",
        ["node", "dist/bin/migration-ctl.js"],
        ["--repo", "/srv/pve-network-migration", "guard", "--stack", "prod", "--state-dir", "/var/lib/pve-migration-guard"],
    ]);
    expect(c.env).toEqual([{ name: "PULUMI_ACCESS_TOKEN", valueFrom: { secretKeyRef: { name: "pulumi-token", key: "token" } } }]);
    expect(c.volumeMounts).toEqual([
        { name: "state", mountPath: "/var/lib/pve-migration-guard" },
        { name: "webhook", mountPath: "/etc/pve-migration-guard/webhook", readOnly: true },
    ]);
    expect(d.spec.template.spec.volumes).toEqual([
        { name: "state", persistentVolumeClaim: { claimName: "rollback-guard-prod" } },
        { name: "webhook", secret: { secretName: "guard-webhook", defaultMode: 0o400 } },
    ]);
});

test.each([
    ["stack", { ...VALUES, stack: "" }, "rollback-guard: set stack (the stack whose pve-migration:rollback this guard runs)"],
    ["image.repository", { ...VALUES, image: { tag: "1" } }, "rollback-guard: set image.repository"],
    ["state.existingClaim", { ...VALUES, state: {} }, "rollback-guard: set state.existingClaim (the guard's cooldown, retries and lock must outlive a pod)"],
])("a release without %s is refused, naming it", (_key, values, message) => {
    expect(() => helmTemplate({ releaseName: "g", chartDir: CHART, namespace: "ns", values })).toThrow(message);
});
