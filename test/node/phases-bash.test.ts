/**
 * The bash phase functions of every step script (components/phases/bash.ts), run with bash,
 * agree with phaseInfo for every phase and refuse what is not a phase.
 */
import { spawnSync } from "child_process";
import { PHASES, phaseInfo } from "../../components/phases";
import { renderPhaseFunctions } from "../../components/phases/bash";
import { renderStepScript } from "../../components/scripts";

/** For each word: `<word> <is_phase status> <is_write_phase status> <phase_index>`. */
function runFunctions(words: readonly string[]): string[] {
    const probe = 'for w in "$@"; do is_phase "$w"; a=$?; is_write_phase "$w"; b=$?; printf "%s %s %s %s\\n" "$w" "$a" "$b" "$(phase_index "$w")"; done';
    const r = spawnSync("bash", ["-c", `${renderPhaseFunctions()}\n${probe}`, "probe", ...words], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return r.stdout.split("\n").filter((l) => l !== "");
}

describe("phase functions in bash, generated from the phase table", () => {
    test("every phase: is_phase 0, is_write_phase as phaseInfo().write, phase_index as phaseInfo().index", () => {
        expect(runFunctions(PHASES)).toEqual(PHASES.map((p) => `${p} 0 ${phaseInfo(p).write ? 0 : 1} ${phaseInfo(p).index}`));
        // The table as the README states it, so that the generated code is checked against fixed values too.
        expect(runFunctions(PHASES)).toEqual([
            "perl-only 0 1 0",
            "rust-read-only 0 1 1",
            "rust-basic-write 0 0 2",
            "rust-advanced 0 0 3",
            "rust-sdn 0 0 4",
            "rust-full 0 0 5",
        ]);
    });

    test("not a phase: is_phase 1, is_write_phase 1, phase_index -1", () => {
        const words = ["", "-", "Rust-full", "rust-full ", "rust-*", "perl-only|rust-full", "*"];
        expect(runFunctions(words)).toEqual(words.map((w) => `${w} 1 1 -1`));
    });

    test("every step script carries the generated functions and no phase list of its own", () => {
        for (const step of ["snapshot", "verify", "config"] as const) {
            const script = renderStepScript(step);
            expect(script.split(renderPhaseFunctions()).length).toBe(2);
            expect(script.match(/^is_phase\(\) \{$/gm)).toHaveLength(1);
            expect(script.match(/^phase_index\(\) \{$/gm)).toHaveLength(1);
        }
    });
});
