import { PHASES, Phase, checkTransition, isWritePhase, nextPhase, phaseInfo, previousPhase, transition } from "../../components/phases";

describe("phase model", () => {
    test("six phases in order", () => {
        expect(PHASES).toEqual(["perl-only", "rust-read-only", "rust-basic-write", "rust-advanced", "rust-sdn", "rust-full"]);
    });

    test.each([
        ["perl-only", false, false, false, 0, true],
        ["rust-read-only", true, true, false, 86400, true],
        ["rust-basic-write", true, true, true, 604800, true],
        ["rust-advanced", true, true, true, 604800, true],
        ["rust-sdn", true, true, true, 604800, true],
        ["rust-full", true, true, true, 0, false],
    ] as const)("%s: cli %s, daemon %s, write %s, soak %d, fallback required %s", (phase, cli, daemon, write, soak, fb) => {
        expect(phaseInfo(phase)).toEqual({
            phase,
            index: PHASES.indexOf(phase),
            rustCli: cli,
            rustDaemon: daemon,
            write,
            soakSeconds: soak,
            fallbackRequired: fb,
        });
        expect(isWritePhase(phase)).toBe(write);
    });

    test("next and previous", () => {
        expect(nextPhase("rust-sdn")).toBe("rust-full");
        expect(nextPhase("rust-full")).toBeUndefined();
        expect(previousPhase("rust-read-only")).toBe("perl-only");
        expect(previousPhase("perl-only")).toBeUndefined();
    });

    // Every (from, to) pair: allowed, kind, backup, restore.
    const all: [Phase, Phase][] = PHASES.flatMap((f) => PHASES.map((t) => [f, t] as [Phase, Phase]));
    test.each(all)("transition %s -> %s", (from, to) => {
        const d = PHASES.indexOf(to) - PHASES.indexOf(from);
        const t = transition(from, to);
        expect(t.kind).toBe(d === 0 ? "none" : d > 0 ? "promotion" : "rollback");
        expect(t.steps).toBe(d);
        expect(t.backupRequired).toBe(d !== 0 && (isWritePhase(from) || isWritePhase(to)));
        expect(t.restoreRequired).toBe(d < 0 && isWritePhase(from) && !isWritePhase(to));
        const v = checkTransition(from, to);
        expect(v.allowed).toBe(d <= 1);
        expect(v.reason).toBe(
            d <= 1 ? "" : `promotion from ${from} to ${to} skips ${d - 1} phase(s); promote one phase at a time (next: ${PHASES[PHASES.indexOf(from) + 1]})`,
        );
    });
});
