/** Bounded waiting: every loop of the harness and the tests ends, in attempts and in time. */
import { setTimeout as delay } from "timers/promises";

export interface PollOptions {
    /** Give up after this long (ms). */
    readonly timeoutMs: number;
    /** Pause between attempts (ms). */
    readonly intervalMs?: number;
}

/**
 * Calls `attempt` until it returns a value other than undefined, at most timeoutMs/intervalMs + 1 times and never
 * past the deadline. Errors thrown by `attempt` count as "not yet"; the last one is quoted when time runs out.
 */
export async function pollUntil<T>(what: string, attempt: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
    const intervalMs = options.intervalMs ?? 100;
    const deadline = Date.now() + options.timeoutMs;
    const maxAttempts = Math.ceil(options.timeoutMs / intervalMs) + 1;
    let lastError: unknown;
    for (let attemptNo = 0; attemptNo < maxAttempts; attemptNo++) {
        try {
            const value = await attempt();
            if (value !== undefined) {
                return value;
            }
        } catch (error) {
            lastError = error;
        }
        if (Date.now() + intervalMs > deadline) {
            break;
        }
        await delay(intervalMs);
    }
    const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : "";
    throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${cause}`);
}

/** Rejects after `ms` unless `promise` settles first; for single calls that might hang on a frozen process. */
export async function withTimeout<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    });
    try {
        return await Promise.race([promise, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

/** A command-line option of whole or fractional seconds, in ms; `min` is the least allowed (0: may be zero). */
export function secondsOption(name: string, value: string | undefined, min: 0 | "positive"): number {
    const ms = Number(value) * 1000;
    if (value === undefined || value.trim() === "" || !Number.isFinite(ms) || ms < 0 || (min === "positive" && ms === 0)) {
        const what = min === "positive" ? "a positive number" : "a number";
        throw new Error(`--${name} must be ${what} of seconds, got ${JSON.stringify(value)}`);
    }
    return ms;
}
