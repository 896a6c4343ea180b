/**
 * The bounds the transports give the engine: how long an unreachable node takes to fail
 * (pulumi-command's dial retry, computed from its source) and the customTimeouts of a step.
 */
import { dialBoundSeconds, stepCustomTimeouts } from "../../components/node/transport";

describe("dialBoundSeconds: (dialErrorLimit + 1) dials of perDialTimeout, retry.Until's waits between", () => {
    test.each([
        // limit, per dial, seconds: 4 dials of 10 s + 0.1 + 0.15 + 0.225 s of waits.
        [3, 10, 40.475],
        [1, 10, 20.1],
        // The provider's defaults (dialErrorLimit 10, perDialTimeout 15): waits 0.1 * 1.5^i, capped at 5 s.
        [10, 15, 165 + 0.1 + 0.15 + 0.225 + 0.3375 + 0.50625 + 0.759375 + 1.1390625 + 1.70859375 + 2.562890625 + 3.8443359375],
        [20, 1, 21 + 0.1 * (1.5 ** 10 - 1) / 0.5 + 5 * 10],
    ])("dialErrorLimit %i, perDialTimeout %i s: %f s", (limit, perDial, expected) => {
        expect(dialBoundSeconds(limit, perDial)).toBeCloseTo(expected, 9);
    });
});

describe("stepCustomTimeouts: above the node's own bound", () => {
    test("limit + 10 s until SIGKILL + the time to reach the node + 60 s, in whole seconds", () => {
        expect(stepCustomTimeouts(600, 40.475)).toEqual({ create: "711s", update: "711s", delete: "5m" });
        expect(stepCustomTimeouts(2, 0)).toEqual({ create: "72s", update: "72s", delete: "5m" });
    });
});
