/**
 * The rollbacks that leave the write phases (a restore), on real sandbox roots (test/support/rollback-matrix.ts).
 */
import { LEAVING, ROLLBACKS, STAYING, rollbackMatrix } from "../support/rollback-matrix";

test("the two matrix files cover all 15 rollbacks, each once", () => {
    expect(ROLLBACKS).toHaveLength(15);
    expect([LEAVING.length, STAYING.length]).toEqual([9, 6]);
    expect(new Set([...LEAVING, ...STAYING].map((p) => p.join(">"))).size).toBe(15);
});

rollbackMatrix(LEAVING);
