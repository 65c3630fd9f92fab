import { goDuration, parseGoDuration } from "../../components/goDuration";

describe("Go durations, as the Docker provider writes and reads them", () => {
    test.each([
        [0, "0s"],
        [500, "500ms"],
        [2000, "2s"],
        [1500, "1.5s"],
        [60_000, "1m0s"],
        [90_000, "1m30s"],
        [61_500, "1m1.5s"],
        [3_600_000, "1h0m0s"],
        [3_725_000, "1h2m5s"],
    ])("%d ms prints as Go's Duration.String() does: %s", (milliseconds, text) => {
        expect(goDuration(milliseconds)).toBe(text);
        expect(parseGoDuration(text)).toBe(milliseconds * 1e6);
    });

    test("parses what time.ParseDuration accepts, and refuses the rest", () => {
        expect(parseGoDuration("60s")).toBe(60e9);
        expect(parseGoDuration("250us")).toBe(250e3);
        expect(() => parseGoDuration("2 s")).toThrow("not a Go duration");
        expect(() => parseGoDuration("")).toThrow("not a Go duration");
        expect(() => goDuration(-1)).toThrow("not a whole, non-negative number of milliseconds");
        expect(() => goDuration(0.5)).toThrow("not a whole, non-negative number of milliseconds");
    });
});
