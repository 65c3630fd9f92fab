import { parseArgs } from "util";

/** The options every benchmark takes: `--reps N` (an integer from 1 to maxReps) and `--out DIR` (default bench/results). */
export function benchOptions(defaultReps: number, maxReps: number): { reps: number; out: string } {
    const { values } = parseArgs({
        options: { reps: { type: "string", default: String(defaultReps) }, out: { type: "string", default: "bench/results" } },
    });
    const reps = Number(values.reps);
    if (!Number.isInteger(reps) || reps < 1 || reps > maxReps) {
        throw new Error(`--reps must be an integer from 1 to ${maxReps}, got ${JSON.stringify(values.reps)}`);
    }
    return { reps, out: values.out! };
}

/** A fresh load of index.ts for each cluster a benchmark starts, after the mocks are set: not from the module cache. */
export function loadIndex(): Record<string, unknown> {
    delete require.cache[require.resolve("../index")];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("../index");
}
