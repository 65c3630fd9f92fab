import { randomUUID } from "crypto";
import Redis from "ioredis";
import { setTimeout as delay } from "timers/promises";
import { NodeAddress } from "../../settings/types";
import { pollUntil } from "./poll";
import { assessCluster } from "./assess";
import { address, ClusterDescription, Login, loginAs } from "./cluster";
import { observeCluster, parseInfo, withConnection } from "./observe";
import { ioredisClient } from "./clients";

/**
 * What the drill does to the master and how it undoes it: a crash-like freeze (`docker pause`, SIGSTOP for
 * processes, then unpause), or a planned stop (`docker stop`, in which the master hands its role over, then start).
 */
export interface Fault {
    readonly how: string;
    inflict(node: NodeAddress): Promise<void>;
    undo(node: NodeAddress): Promise<void>;
}

export interface DrillOptions {
    /** Bound on each wait: the election, the first write after it, the rejoin (ms). */
    readonly timeoutMs: number;
    /** Pause between two writes of the writer (ms). */
    readonly writeIntervalMs?: number;
    /** Progress lines for a person watching. */
    readonly log?: (line: string) => void;
}

export interface TimelineEvent {
    /** Milliseconds since the fault (negative: before). */
    readonly atMs: number;
    readonly sentinel: string;
    readonly event: string;
    readonly detail: string;
}

export interface DrillReport {
    readonly frozen: string;
    readonly oldMaster: string;
    readonly newMaster: string;
    /** How the master was taken away (Fault.how). */
    readonly how: string;
    /** The fault until every Sentinel reports the new master. */
    readonly failoverMs: number;
    /** The longest time between two consecutive confirmed writes: what a client could not write. */
    readonly writeOutageMs: number;
    /** The fault until the writer's first confirmed write after it (one sent before it took effect does not count). */
    readonly firstWriteMs: number;
    /** When the fault was inflicted (epoch ms), for writers of the caller's own to measure against. */
    readonly faultAt: number;
    /** Undoing the fault until the old master is a replica of the new one with its link up. */
    readonly recoveryMs: number;
    readonly writesConfirmed: number;
    readonly writesFailed: number;
    /** Confirmed writes missing from the new master afterwards: must be 0. */
    readonly writesLost: number;
    readonly timeline: readonly TimelineEvent[];
}

/** A healthy cluster, or an error listing what is wrong: the drill never starts on a sick cluster. */
export async function requireHealthy(description: ClusterDescription): Promise<string> {
    const { sentinels, nodes } = await observeCluster(description);
    const assessment = assessCluster(description, sentinels, nodes);
    if (!assessment.healthy || assessment.master === null) {
        throw new Error(`refusing to run: the cluster is not healthy:\n${assessment.problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    return assessment.master;
}

/** Waits until the cluster is healthy again, e.g. between repetitions of a benchmark. */
export async function waitHealthy(description: ClusterDescription, timeoutMs: number): Promise<string> {
    return pollUntil("the cluster to be healthy", async () => requireHealthy(description), { timeoutMs, intervalMs: 250 });
}

/** A Sentinel event as it arrived: +sdown, +odown, +switch-master, +tilt, ... with its channel's message. */
export interface SentinelEvent {
    readonly at: number;
    readonly sentinel: string;
    readonly event: string;
    readonly detail: string;
}

/**
 * Records every event the Sentinels at `sentinels` publish (PSUBSCRIBE *, the hello channel left out) with the time it
 * arrived; `login` is undefined for a Sentinel without users. Returns the function that stops listening.
 */
export async function watchSentinelEvents(
    sentinels: readonly NodeAddress[],
    login: Login | undefined,
    onEvent: (event: SentinelEvent) => void,
): Promise<() => void> {
    const subscribers = sentinels.map((sentinel) => {
        const client = new Redis({
            host: sentinel.ip,
            port: sentinel.port,
            username: login?.username,
            password: login?.password,
            tls: login?.tls,
            connectTimeout: 1000,
            maxRetriesPerRequest: 0,
            retryStrategy: () => 200,
        });
        client.on("error", () => undefined);
        client.on("pmessage", (_pattern: string, channel: string, message: string) => {
            if (!channel.startsWith("__sentinel__")) {
                onEvent({ at: Date.now(), sentinel: sentinel.name, event: channel, detail: message });
            }
        });
        return client;
    });
    await Promise.all(subscribers.map((client) => client.psubscribe("*")));
    return () => subscribers.forEach((client) => client.disconnect());
}

/** Records every Sentinel event of the cluster with its time, through the admin user. */
const listenToSentinels = (description: ClusterDescription, events: SentinelEvent[]) =>
    watchSentinelEvents(description.sentinelNodes, loginAs(description, "admin"), (event) => events.push(event));

/**
 * A write confirmed within this long of the fault was sent before the fault took effect (`docker pause` and
 * `docker kill` return after it does); a failover takes seconds, so none after it is that fast.
 */
export const inFlightMs = 500;

/** The longest time between two consecutive confirmations; a reply that raced the fault cannot shorten it. */
export function longestGap(confirmed: readonly { at: number }[]): number {
    return Math.max(0, ...confirmed.slice(1).map((write, index) => write.at - confirmed[index].at));
}

/** How many of the confirmed writes the node at `master` ("ip:port") does not hold. */
export async function missingWrites(
    description: ClusterDescription,
    master: string,
    confirmed: readonly { key: string }[],
): Promise<number> {
    const node = description.redisNodes.find((candidate) => address(candidate) === master);
    if (!node) {
        throw new Error(`${master} is not one of the cluster's nodes`);
    }
    return withConnection(
        node,
        loginAs(description, "admin"),
        async (client) => {
            let count = 0;
            for (let i = 0; i < confirmed.length; i += 500) {
                const keys = confirmed.slice(i, i + 500).map((w) => w.key);
                count += keys.length - ((await client.exists(...keys)) as number);
            }
            return count;
        },
        10_000,
    );
}

/** Writes one key after another, each confirmed by WAIT 1, until stopped; keeps the confirmation times. */
export function startConfirmingWriter(description: ClusterDescription, intervalMs: number, hardStopAt: number) {
    const client = ioredisClient(description);
    const run = randomUUID().slice(0, 8);
    const confirmed: { key: string; at: number }[] = [];
    const errors: string[] = [];
    let failed = 0;
    let stopped = false;
    const done = (async () => {
        for (let seq = 0; !stopped && Date.now() < hardStopAt; seq++) {
            const key = `drill:${run}:${seq}`;
            try {
                await client.set(key, String(seq));
                const acknowledged = (await client.call("WAIT", "1", "1000")) as number;
                if (acknowledged >= 1) {
                    confirmed.push({ key, at: Date.now() });
                } else {
                    failed++;
                    errors.push(`WAIT 1 acknowledged ${acknowledged}`);
                }
            } catch (error) {
                failed++;
                errors.push((error as Error).message);
            }
            errors.splice(0, errors.length - 5);
            await delay(intervalMs);
        }
    })();
    return {
        confirmed,
        failedCount: () => failed,
        /** The last few failures, newest last (server and client messages: no password). */
        lastErrors: () => [...errors],
        async stop() {
            stopped = true;
            await done;
            client.disconnect();
        },
    };
}

const mastersSeen = (description: ClusterDescription) =>
    Promise.all(
        description.sentinelNodes.map((sentinel) =>
            withConnection(sentinel, loginAs(description, "clientsentinel"), async (client) => {
                const [ip, port] = (await client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", description.masterName)) as string[];
                return `${ip}:${port}`;
            }).catch(() => undefined),
        ),
    );

/**
 * The seed's failover test as one function: write continuously, take the master away, wait for every Sentinel to name a
 * new one, bring the old master back (always, also on failure), wait until it is a replica of the new one, then check
 * that every confirmed write is on the new master.
 */
export async function runFailoverDrill(
    description: ClusterDescription,
    fault: Fault,
    options: DrillOptions,
): Promise<DrillReport> {
    const log = options.log ?? (() => undefined);
    const oldMaster = await requireHealthy(description);
    const victim = description.redisNodes.find((node) => address(node) === oldMaster);
    if (!victim) {
        throw new Error(`the master ${oldMaster} is not one of the cluster's nodes`);
    }
    const events: SentinelEvent[] = [];
    const stopListening = await listenToSentinels(description, events);
    const writer = startConfirmingWriter(description, options.writeIntervalMs ?? 20, Date.now() + 4 * options.timeoutMs);
    let frozenAt = 0;
    let undoneAt = 0;
    let newMaster = "";
    let electedAt = 0;
    try {
        await pollUntil("the writer's first confirmed write", async () => (writer.confirmed.length > 0 ? true : undefined), {
            timeoutMs: options.timeoutMs,
        });
        log(`master is ${victim.name} (${oldMaster}); taking it away with ${fault.how}`);
        frozenAt = Date.now();
        // Not awaited before the Sentinels are watched: a planned stop returns only once the server has exited.
        const inflicted = fault.inflict(victim);
        inflicted.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
        try {
            newMaster = await pollUntil(
                "every Sentinel to name a new master",
                async () => {
                    const seen = await mastersSeen(description);
                    const agreed = seen.every((master) => master !== undefined && master === seen[0] && master !== oldMaster);
                    return agreed ? seen[0] : undefined;
                },
                { timeoutMs: options.timeoutMs, intervalMs: 50 },
            );
            electedAt = Date.now();
            log(`Sentinels agree on the new master ${newMaster} after ${electedAt - frozenAt} ms`);
            await pollUntil(
                "a confirmed write on the new master",
                async () => (writer.confirmed.some((w) => w.at > frozenAt) ? true : undefined),
                {
                    timeoutMs: options.timeoutMs,
                    intervalMs: 20,
                },
            );
        } finally {
            await inflicted;
            undoneAt = Date.now();
            await fault.undo(victim);
            log(`brought ${victim.name} back`);
        }
        await pollUntil(
            `${victim.name} to rejoin as a replica of ${newMaster}`,
            () =>
                withConnection(victim, loginAs(description, "admin"), async (client) => {
                    const info = parseInfo(await client.info("replication"));
                    const rejoined =
                        info.role === "slave" &&
                        `${info.master_host}:${info.master_port}` === newMaster &&
                        info.master_link_status === "up";
                    return rejoined ? true : undefined;
                }),
            { timeoutMs: options.timeoutMs, intervalMs: 50 },
        );
    } finally {
        await writer.stop();
        stopListening();
    }
    const recoveredAt = Date.now();
    log(`${victim.name} is a replica of ${newMaster} again after ${recoveredAt - undoneAt} ms`);

    const missing = await missingWrites(description, newMaster, writer.confirmed);
    return {
        frozen: victim.name,
        how: fault.how,
        oldMaster,
        newMaster,
        failoverMs: electedAt - frozenAt,
        writeOutageMs: longestGap(writer.confirmed),
        firstWriteMs: (writer.confirmed.find((w) => w.at > frozenAt + inFlightMs)?.at ?? Number.NaN) - frozenAt,
        faultAt: frozenAt,
        recoveryMs: recoveredAt - undoneAt,
        writesConfirmed: writer.confirmed.length,
        writesFailed: writer.failedCount(),
        writesLost: missing,
        timeline: events.map((e) => ({ atMs: e.at - frozenAt, sentinel: e.sentinel, event: e.event, detail: e.detail })),
    };
}
