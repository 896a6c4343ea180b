/**
 * What a stack has deployed, from its outputs, and what the next run plans from (pure).
 */
import { Attempt, DeployedState, enteredAt, parseVerified, planBasis, readDeployedOutputs, verifiedLine, verifiedPhase } from "../../components/deployed";

const v = (phase: string, at = "2026-11-20T10:00:00Z", transition = "aaaa0001") => ({ phase, at, transition });
const attempt = (from: string, to: string, extra: Partial<Attempt> = {}) => ({
    from,
    to,
    id: "aaaa0001",
    fromEnteredAt: "2026-11-01T00:00:00Z",
    floor: from < to ? from : to,
    ceiling: from < to ? to : from,
    ...extra,
});

describe("readDeployedOutputs", () => {
    test("no outputs: never deployed, complete at perl-only", () => {
        expect(readDeployedOutputs({})).toEqual({ neverDeployed: true, complete: true, phase: "perl-only", verified: {} });
    });

    test("outputs written before attempts were recorded are taken at their word", () => {
        expect(readDeployedOutputs({ phase: "rust-sdn", phaseEnteredAt: "2026-11-01T00:00:00Z" })).toEqual({
            neverDeployed: false,
            complete: true,
            phase: "rust-sdn",
            enteredAt: "2026-11-01T00:00:00Z",
            verified: {},
        });
    });

    test("the final event of a run where every node verified: complete", () => {
        const a = attempt("rust-read-only", "rust-basic-write", { floor: "rust-read-only", ceiling: "rust-basic-write" });
        const verified = { pve1: v("rust-basic-write"), pve2: v("rust-basic-write") };
        const d = readDeployedOutputs({
            phase: "rust-basic-write",
            phaseEnteredAt: "2026-11-20T10:00:00Z",
            transition: { id: "aaaa0001" },
            attempt: a,
            verified,
            nodes: ["pve1", "pve2"],
        });
        expect(d).toEqual({ neverDeployed: false, complete: true, phase: "rust-basic-write", enteredAt: "2026-11-20T10:00:00Z", attempt: a, verified });
    });

    test("the old outputs with a new attempt copied over them (a failed run): incomplete, at the floor", () => {
        const a = attempt("rust-full", "perl-only", { id: "bbbb0002", floor: "perl-only", ceiling: "rust-full" });
        const d = readDeployedOutputs({
            phase: "rust-full",
            phaseEnteredAt: "2026-11-01T00:00:00Z",
            transition: { id: "aaaa0001" },
            attempt: a,
            verified: { pve1: v("rust-full") },
        });
        expect(d).toEqual({ neverDeployed: false, complete: false, phase: "perl-only", attempt: a, verified: { pve1: v("rust-full") } });
    });

    test("one node verified and one not: incomplete", () => {
        const a = attempt("rust-read-only", "rust-basic-write", { floor: "rust-read-only", ceiling: "rust-basic-write" });
        const d = readDeployedOutputs({
            phase: "rust-read-only",
            transition: { id: "old00000" },
            attempt: a,
            verified: { pve1: v("rust-basic-write"), pve2: v("rust-read-only") },
            nodes: ["pve1", "pve2"],
        });
        expect([d.complete, d.phase]).toEqual([false, "rust-read-only"]);
    });

    test("an unknown value stored for the phase (a --target run) is incomplete, never a phase", () => {
        const a = attempt("perl-only", "rust-read-only", { floor: "perl-only", ceiling: "rust-read-only" });
        const d = readDeployedOutputs({ phase: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", transition: { id: "aaaa0001" }, attempt: a, verified: {} });
        expect([d.complete, d.phase]).toEqual([false, "perl-only"]);
    });

    test("outputs without a phase nor an attempt are refused", () => {
        expect(() => readDeployedOutputs({ cluster: "x" })).toThrow("phase: missing or not a phase (not outputs of this project's program?)");
    });
});

describe("planBasis", () => {
    const complete = (phase: string, enteredAtValue?: string): DeployedState =>
        ({ neverDeployed: false, complete: true, phase, enteredAt: enteredAtValue, verified: {} }) as DeployedState;
    const incomplete = (a: Attempt): DeployedState => ({ neverDeployed: false, complete: false, phase: a.floor, attempt: a, verified: {} });

    test.each([
        [
            "promotion",
            "rust-read-only",
            "rust-basic-write",
            { kind: "fresh", from: "rust-read-only", fromEnteredAt: "2026-11-01T00:00:00Z", floor: "rust-read-only", ceiling: "rust-basic-write" },
        ],
        [
            "rollback",
            "rust-full",
            "perl-only",
            { kind: "fresh", from: "rust-full", fromEnteredAt: "2026-11-01T00:00:00Z", floor: "perl-only", ceiling: "rust-full" },
        ],
        ["no change", "rust-sdn", "rust-sdn", { kind: "fresh", from: "rust-sdn", fromEnteredAt: "2026-11-01T00:00:00Z", floor: "rust-sdn", ceiling: "rust-sdn" }],
    ])("a complete stack plans fresh (%s)", (_name, from, to, expected) => {
        expect(planBasis(complete(from, "2026-11-01T00:00:00Z"), to as never)).toEqual(expected);
    });

    test("the same target resumes the incomplete attempt with its own from and fromEnteredAt (identical step inputs)", () => {
        const a = attempt("rust-full", "perl-only", { floor: "perl-only", ceiling: "rust-full" }) as Attempt;
        expect(planBasis(incomplete(a), "perl-only")).toEqual({
            kind: "resume",
            from: "rust-full",
            fromEnteredAt: "2026-11-01T00:00:00Z",
            floor: "perl-only",
            ceiling: "rust-full",
        });
    });

    test("a target at or below the floor is a rollback from the ceiling", () => {
        const a = attempt("rust-read-only", "rust-basic-write", { floor: "rust-read-only", ceiling: "rust-basic-write" }) as Attempt;
        expect(planBasis(incomplete(a), "rust-read-only")).toEqual({
            kind: "recover",
            from: "rust-basic-write",
            fromEnteredAt: "2026-11-01T00:00:00Z",
            floor: "rust-read-only",
            ceiling: "rust-basic-write",
        });
        expect(planBasis(incomplete(a), "perl-only")).toEqual({
            kind: "recover",
            from: "rust-basic-write",
            fromEnteredAt: "2026-11-01T00:00:00Z",
            floor: "perl-only",
            ceiling: "rust-basic-write",
        });
    });

    test("any other target is refused, naming what would finish or roll back the attempt", () => {
        const a = attempt("rust-full", "perl-only", { id: "cafe0001", floor: "perl-only", ceiling: "rust-full" }) as Attempt;
        expect(planBasis(incomplete(a), "rust-full")).toEqual({
            error: "the last update (from rust-full to perl-only, transition cafe0001) did not complete on every node, so nodes may be anywhere between perl-only and rust-full: set the phase to perl-only to finish it",
        });
        const b = attempt("rust-read-only", "rust-basic-write", { id: "cafe0002", floor: "rust-read-only", ceiling: "rust-basic-write" }) as Attempt;
        expect(planBasis(incomplete(b), "rust-advanced")).toEqual({
            error: "the last update (from rust-read-only to rust-basic-write, transition cafe0002) did not complete on every node, so nodes may be anywhere between rust-read-only and rust-basic-write: set the phase to rust-basic-write to finish it, or to rust-read-only or a lower phase (perl-only) to roll it back",
        });
    });
});

describe("the verify step's line", () => {
    test("round trip", () => {
        const line = verifiedLine({ node: "pve1", phase: "rust-sdn", transition: "0123abcd", at: "2026-11-21T12:00:00Z" });
        expect(line).toBe("pve-migration-verified node=pve1 phase=rust-sdn transition=0123abcd at=2026-11-21T12:00:00Z");
        expect(parseVerified(`noise\n${line}\n2026-11-21T12:00:00Z node=pve1 step=verify result=ok`, "pve1")).toEqual({
            phase: "rust-sdn",
            transition: "0123abcd",
            at: "2026-11-21T12:00:00Z",
        });
    });

    test.each([
        ["empty stdout", "", "pve1"],
        ["another node's line", "pve-migration-verified node=pve2 phase=rust-sdn transition=x at=2026-11-21T12:00:00Z", "pve1"],
        ["not a phase", "pve-migration-verified node=pve1 phase=rust-max transition=x at=2026-11-21T12:00:00Z", "pve1"],
        ["not a time", "pve-migration-verified node=pve1 phase=rust-sdn transition=x at=yesterday", "pve1"],
    ])("%s is not a verified node", (_n, stdout, node) => {
        expect(() => parseVerified(stdout, node)).toThrow(`the verify step of ${node} did not report a verified phase`);
    });

    test("verifiedPhase needs every node at the target", () => {
        expect(verifiedPhase({ a: v("rust-sdn"), b: v("rust-sdn") } as never, ["a", "b"], "rust-sdn")).toBe("rust-sdn");
        expect(() => verifiedPhase({ a: v("rust-sdn") } as never, ["a", "b"], "rust-sdn")).toThrow("node b has no verify result");
        expect(() => verifiedPhase({ a: v("rust-advanced") } as never, ["a"], "rust-sdn")).toThrow("node a verified rust-advanced, not rust-sdn");
    });

    test("enteredAt: kept while the phase is the same, else the last node's verify time", () => {
        const prev = { neverDeployed: false, complete: true, phase: "rust-sdn", enteredAt: "2026-11-01T00:00:00Z", verified: {} } as DeployedState;
        const verified = { a: v("rust-sdn", "2026-11-21T12:00:05Z"), b: v("rust-sdn", "2026-11-21T12:00:09Z") } as never;
        expect(enteredAt(prev, "rust-sdn", verified, ["a", "b"])).toBe("2026-11-01T00:00:00Z");
        expect(
            enteredAt(prev, "rust-full" as never, { a: v("rust-full", "2026-11-21T12:00:05Z"), b: v("rust-full", "2026-11-21T12:00:09Z") } as never, ["a", "b"]),
        ).toBe("2026-11-21T12:00:09Z");
        expect(enteredAt({ ...prev, complete: false }, "rust-sdn", verified, ["a", "b"])).toBe("2026-11-21T12:00:09Z");
    });
});
