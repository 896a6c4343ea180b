import {
    DEFAULT_SELECTOR,
    buildMetrics,
    checkSelector,
    nodeMatcher,
    nodeQueries,
    parseQueryAnswer,
    parseSampleValue,
    promString,
    windowDuration,
    NodeAnswers,
} from "../../components/gates/metrics";

describe("PromQL building", () => {
    test('default node mapping: instance="<node>:9187"', () => {
        expect(nodeMatcher("pve1")).toBe('{instance="pve1:9187"}');
        expect(DEFAULT_SELECTOR).toEqual({ label: "instance", template: "{node}:9187" });
    });

    test("a configurable label and template", () => {
        expect(nodeMatcher("pve1", { label: "node", template: "{node}" })).toBe('{node="pve1"}');
        expect(nodeMatcher("pve1", { label: "instance", template: "{node}.example.org:9187" })).toBe('{instance="pve1.example.org:9187"}');
    });

    test("label values are escaped", () => {
        expect(promString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
        expect(nodeMatcher('x"}or vector(1)#', { label: "node", template: "{node}" })).toBe('{node="x\\"}or vector(1)#"}');
    });

    test("the queries for a node over a window", () => {
        expect(nodeQueries("pve1", "86400s")).toEqual({
            fallbacks: 'sum(increase(pve_network_fallback_total{instance="pve1:9187"}[86400s]))',
            applySum: 'sum(increase(pve_network_apply_duration_seconds_sum{instance="pve1:9187"}[86400s]))',
            applyCount: 'sum(increase(pve_network_apply_duration_seconds_count{instance="pve1:9187"}[86400s]))',
        });
    });

    test.each([
        [0, 1000, "1s"],
        [0, 1001, "2s"],
        [Date.parse("2024-05-01T10:00:00Z"), Date.parse("2024-05-02T10:00:00Z"), "86400s"],
    ])("windowDuration(%d, %d) = %s", (a, b, w) => {
        expect(windowDuration(a, b)).toBe(w);
    });

    test("an empty or negative window is refused", () => {
        expect(() => windowDuration(5000, 5000)).toThrow("window must be at least 1 second (start 1970-01-01T00:00:05.000Z, end 1970-01-01T00:00:05.000Z)");
        expect(() => windowDuration(5000, 1000)).toThrow(RangeError);
    });

    test.each([
        [{ label: "instance", template: "{node}:9187" }, null],
        [{ label: "node", template: "{node}" }, null],
        [{ label: "9x", template: "{node}" }, 'label "9x" is not a Prometheus label name'],
        [{ label: "__name__", template: "{node}" }, 'label "__name__" is not a Prometheus label name'],
        [{ label: "instance", template: "pve1:9187" }, 'template "pve1:9187" must contain {node}'],
    ])("checkSelector %#", (s, why) => {
        expect(checkSelector(s)).toBe(why);
    });
});

describe("answers", () => {
    test.each([
        ["1.5", 1.5],
        ["0", 0],
        ["NaN", NaN],
        ["+Inf", Infinity],
        ["-Inf", -Infinity],
    ])("parseSampleValue(%s)", (s, v) => {
        expect(parseSampleValue(s)).toBe(v);
    });

    test("parseSampleValue refuses garbage", () => {
        expect(() => parseSampleValue("x")).toThrow('not a sample value: "x"');
        expect(() => parseSampleValue("")).toThrow('not a sample value: ""');
    });

    test.each<[string, unknown, number | undefined]>([
        ["an empty vector is no data", { status: "success", data: { resultType: "vector", result: [] } }, undefined],
        ["one sample", { status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [1714557600, "2"] }] } }, 2],
        ["a scalar", { status: "success", data: { resultType: "scalar", result: [1714557600, "0.25"] } }, 0.25],
    ])("parseQueryAnswer: %s", (_n, body, v) => {
        expect(parseQueryAnswer(body)).toBe(v);
    });

    test.each<[string, unknown, string]>([
        ["an error answer", { status: "error", errorType: "bad_data", error: "parse error" }, "query failed: parse error"],
        ["a matrix", { status: "success", data: { resultType: "matrix", result: [] } }, "expected a vector, got matrix"],
        ["two series", { status: "success", data: { resultType: "vector", result: [{ value: [1, "1"] }, { value: [1, "2"] }] } }, "expected one series, got 2"],
        ["not an object", "hello", "answer is not a JSON object"],
    ])("parseQueryAnswer refuses %s", (_n, body, msg) => {
        expect(() => parseQueryAnswer(body)).toThrow(msg);
    });
});

describe("buildMetrics", () => {
    const o = {
        source: "http://prom:9090",
        windowStartMs: Date.parse("2024-05-01T10:00:00Z"),
        windowEndMs: Date.parse("2024-05-02T10:00:00Z"),
        perlBaselineSeconds: 0.5,
        queries: (n: string) => nodeQueries(n, "86400s"),
    };
    const q = (n: string) => nodeQueries(n, "86400s");

    test("clean nodes: weighted mean latency, zero fallbacks, no problem", () => {
        const answers: NodeAnswers[] = [
            { node: "a", fallbacks: 0, applySum: 3, applyCount: 10 },
            { node: "b", fallbacks: 0, applySum: 1, applyCount: 30 },
        ];
        expect(buildMetrics(answers, o)).toEqual({
            metrics: {
                source: "http://prom:9090",
                windowStart: "2024-05-01T10:00:00.000Z",
                windowEnd: "2024-05-02T10:00:00.000Z",
                fallbacks: 0,
                applyLatencySeconds: 0.1,
                perlBaselineSeconds: 0.5,
                perNode: [
                    { node: "a", fallbacks: 0, applyLatencySeconds: 0.3 },
                    { node: "b", fallbacks: 0, applyLatencySeconds: 1 / 30 },
                ],
            },
            problems: [],
        });
    });

    test("a node without fallback data is left out of perNode and named", () => {
        const r = buildMetrics(
            [
                { node: "a", fallbacks: 0, applySum: 1, applyCount: 10 },
                { node: "b", fallbacks: undefined, applySum: undefined, applyCount: undefined },
            ],
            o,
        );
        expect(r.metrics.perNode.map((p) => p.node)).toEqual(["a"]);
        expect(r.problems).toEqual([
            `node b: no data for ${q("b").fallbacks}`,
            `node b: no data for ${q("b").applySum}`,
            `node b: no data for ${q("b").applyCount}`,
        ]);
    });

    test("a node with fallbacks but no apply series is left out, its fallbacks still counted", () => {
        const r = buildMetrics([{ node: "a", fallbacks: 2, applySum: undefined, applyCount: undefined }], o);
        expect(r.metrics.perNode).toEqual([]);
        expect(r.metrics.fallbacks).toBe(2);
        expect(r.metrics.applyLatencySeconds).toBeNull();
        expect(r.problems).toEqual(["node a: 2 fallback(s) over the window", `node a: no data for ${q("a").applySum}`, `node a: no data for ${q("a").applyCount}`]);
    });

    test("leaving a phase where Rust applies nothing: a node without apply series is kept, latency null", () => {
        const r = buildMetrics([{ node: "a", fallbacks: 0, applySum: undefined, applyCount: undefined }], { ...o, requireApplyData: false });
        expect(r.metrics.perNode).toEqual([{ node: "a", fallbacks: 0, applyLatencySeconds: null }]);
        expect(r.metrics.applyLatencySeconds).toBeNull();
        expect(r.problems).toEqual([`node a: no data for ${q("a").applySum}`, `node a: no data for ${q("a").applyCount}`]);
    });

    test("no applies over the window: latency null, named", () => {
        const r = buildMetrics([{ node: "a", fallbacks: 0, applySum: 0, applyCount: 0 }], o);
        expect(r.metrics.perNode).toEqual([{ node: "a", fallbacks: 0, applyLatencySeconds: null }]);
        expect(r.metrics.applyLatencySeconds).toBeNull();
        expect(r.problems).toEqual([`node a: no apply over the window (${q("a").applyCount} = 0)`]);
    });

    test("fallbacks and latency above the baseline are named per node", () => {
        const r = buildMetrics([{ node: "a", fallbacks: 1.0714285714, applySum: 20, applyCount: 10 }], o);
        expect(r.metrics.fallbacks).toBe(1.0714285714);
        expect(r.metrics.applyLatencySeconds).toBe(2);
        expect(r.problems).toEqual(["node a: 1.07143 fallback(s) over the window", "node a: mean apply latency 2s is above the Perl baseline 0.5s"]);
    });

    test("a NaN fallback answer is not a number of fallbacks", () => {
        const r = buildMetrics([{ node: "a", fallbacks: NaN, applySum: 1, applyCount: 1 }], o);
        expect(r.metrics.perNode).toEqual([]);
        expect(r.problems).toEqual([`node a: ${q("a").fallbacks} returned NaN`]);
    });
});
