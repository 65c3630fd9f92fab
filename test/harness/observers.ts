/**
 * Measuring a failover: a recorder of every Sentinel's events, and paced writers that record when each write
 * succeeded, so that a client's write outage can be compared with the Sentinels' own failover time.
 */
import { setTimeout as delay } from "timers/promises";
import Redis from "ioredis";
import { LocalCluster } from "./localCluster";
import { withTimeout } from "../../tools/lib/poll";

/** One event a Sentinel published (`+sdown`, `+odown`, `+switch-master`, ...), with the time it arrived. */
export interface SentinelEvent {
    readonly at: number;
    readonly sentinel: string;
    readonly channel: string;
    readonly message: string;
}

export interface SentinelEventRecorder {
    readonly events: readonly SentinelEvent[];
    /** The arrival time of the first event on `channel` at or after `since`, if any. */
    firstAt(channel: string, since?: number): number | undefined;
    /**
     * Per Sentinel (in the cluster's order), the arrival time of its first event on `channel` at or after `since`;
     * undefined until every Sentinel has sent one.
     */
    fromEverySentinel(channel: string, since: number): number[] | undefined;
    stop(): void;
}

/** Subscribes, as admin, to every event of every Sentinel (PSUBSCRIBE *), and records them in arrival order. */
export async function recordSentinelEvents(cluster: LocalCluster): Promise<SentinelEventRecorder> {
    const events: SentinelEvent[] = [];
    const subscribers: Redis[] = [];
    for (const sentinel of cluster.sentinelNodes) {
        const subscriber = cluster.connect(sentinel.name);
        subscriber.on("pmessage", (_pattern: string, channel: string, message: string) =>
            events.push({ at: Date.now(), sentinel: sentinel.name, channel, message }),
        );
        await subscriber.psubscribe("*");
        subscribers.push(subscriber);
    }
    return {
        events,
        firstAt: (channel, since = 0) => events.find((event) => event.channel === channel && event.at >= since)?.at,
        fromEverySentinel: (channel, since) => {
            const times = cluster.sentinelNodes.map(
                (sentinel) =>
                    events.find((event) => event.sentinel === sentinel.name && event.channel === channel && event.at >= since)
                        ?.at,
            );
            return times.every((at) => at !== undefined) ? (times as number[]) : undefined;
        },
        stop: () => subscribers.forEach((subscriber) => subscriber.disconnect()),
    };
}

export interface WriterOptions {
    /** Pause after each attempt (ms), so that a writer does not spin. Default 10. */
    readonly pauseMs?: number;
    /** Hard limits: the writer stops by itself after this many attempts or this long (ms). */
    readonly maxAttempts?: number;
    readonly maxDurationMs?: number;
}

export interface Writer {
    readonly name: string;
    /** Completion time of every successful write, in order. */
    readonly successes: readonly number[];
    /** Failed attempts, by error message (messages never hold a password: they come from the server or the client). */
    readonly failures: ReadonlyMap<string, number>;
    /** The first failures (at most 1000), with the time each attempt ended. */
    readonly failureLog: readonly { at: number; message: string }[];
    /** Stops after the write in flight, if it completes within 5 s. */
    stop(): Promise<void>;
}

/**
 * Calls `write(sequence)` in a loop until stopped. A write succeeds when it resolves to true; false or a
 * rejection counts as a failure. Every loop is bounded by maxAttempts and maxDurationMs.
 */
export function startWriter(name: string, write: (sequence: number) => Promise<boolean>, options: WriterOptions = {}): Writer {
    const successes: number[] = [];
    const failures = new Map<string, number>();
    const failureLog: { at: number; message: string }[] = [];
    const fail = (message: string) => {
        failures.set(message, (failures.get(message) ?? 0) + 1);
        if (failureLog.length < 1000) {
            failureLog.push({ at: Date.now(), message });
        }
    };
    const pauseMs = options.pauseMs ?? 10;
    const maxAttempts = options.maxAttempts ?? 200000;
    const deadline = Date.now() + (options.maxDurationMs ?? 120000);
    let running = true;
    const loop = (async () => {
        for (let sequence = 0; running && sequence < maxAttempts && Date.now() < deadline; sequence++) {
            try {
                if (await write(sequence)) {
                    successes.push(Date.now());
                } else {
                    fail("not confirmed");
                }
            } catch (error) {
                fail((error as Error).message?.split("\n")[0] ?? String(error));
            }
            await delay(pauseMs);
        }
    })();
    return {
        name,
        successes,
        failures,
        failureLog,
        stop: async () => {
            running = false;
            await withTimeout(`writer ${name} to stop`, loop, 5000).catch(() => undefined);
        },
    };
}

/** The longest time between two successful writes that ends after `since`: how long the writer could not write. */
export function longestOutage(successes: readonly number[], since: number): number {
    let longest = 0;
    for (let index = 1; index < successes.length; index++) {
        if (successes[index] >= since) {
            longest = Math.max(longest, successes[index] - successes[index - 1]);
        }
    }
    return longest;
}
