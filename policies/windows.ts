/**
 * Change windows (README "Configure a stack", key `windows`): a promotion only inside one of the stack's windows
 * (`pve-migration:windows`, carried in the transition record's `windows` keeper when set), judged
 * at the moment the policy runs (before the record is created, so before any node step), with the
 * program's own rule (components/windows windowRefusal). A rollback is always allowed.
 */
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import * as random from "@pulumi/random";
import { WindowsSchema, windowRefusal } from "../components/windows";
import { configOf, known, recordOf, transitionOf } from "./lib";

export interface ChangeWindowConfig {
    /** Judge at this ISO time instead of the clock (a dry run of a planned promotion); "" the clock. */
    now: string;
}

export const CHANGE_WINDOW_DEFAULTS: ChangeWindowConfig = { now: "" };

export const changeWindow: ResourceValidationPolicy = {
    name: "change-window",
    description: "A promotion runs only inside one of the stack's change windows (pve-migration:windows); a rollback always may.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            now: { type: "string", default: "", description: "Judge at this ISO time instead of the clock (a dry run); empty: the clock." },
        },
    },
    validateResource: validateResourceOfType(random.RandomId, (id, args, report) => {
        const r = recordOf(id);
        if (!r) return;
        const t = transitionOf(r);
        if (!t || t.kind !== "promotion") return;
        const keepers = known(() => id.keepers) as { [k: string]: unknown } | undefined;
        const raw = keepers ? known(() => keepers.windows) : undefined;
        if (typeof raw !== "string" || raw === "") return;
        let parsed: ReturnType<typeof WindowsSchema.safeParse>;
        try {
            parsed = WindowsSchema.safeParse(JSON.parse(raw));
        } catch {
            report(`promotion of ${r.stack} from ${t.from} to ${t.to}: the change windows in the transition record are not JSON`);
            return;
        }
        if (!parsed.success) {
            report(`promotion of ${r.stack} from ${t.from} to ${t.to}: the change windows in the transition record do not follow their schema`);
            return;
        }
        const c = configOf(args, CHANGE_WINDOW_DEFAULTS);
        const now = c.now !== "" ? new Date(c.now) : new Date();
        if (Number.isNaN(now.getTime())) {
            report(`change-window: config now ${JSON.stringify(c.now)} is not an ISO time`);
            return;
        }
        const closed = windowRefusal(parsed.data, now);
        if (closed !== undefined) report(`promotion of ${r.stack} from ${t.from} to ${t.to}: ${closed}`);
    }),
};
