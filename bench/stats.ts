/** Median, min and max of repeated measurements. Pure. */

export interface Summary {
    readonly n: number;
    readonly median: number;
    readonly min: number;
    readonly max: number;
}

/** Median (mean of the two middle values for an even count), min and max. Throws on no samples. */
export function summarize(samples: readonly number[]): Summary {
    if (samples.length === 0) throw new Error("no samples to summarize");
    if (samples.some((x) => !Number.isFinite(x))) throw new Error(`not a finite sample in ${samples.join(", ")}`);
    const s = [...samples].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
    return { n: s.length, median, min: s[0], max: s[s.length - 1] };
}

/** `1234 [1200–1300]` with `digits` decimals (one value when all samples are equal). */
export function formatSummary(x: Summary, digits = 0): string {
    const f = (v: number) => v.toFixed(digits);
    return x.min === x.max ? f(x.median) : `${f(x.median)} [${f(x.min)}–${f(x.max)}]`;
}
