/**
 * The write guard (min-replicas-to-write 1, min-replicas-max-lag 1) on real processes: a master whose replicas fall
 * silent refuses writes within about two seconds, and a healthy master under heavy load, with replicas busy forking
 * and serving reads, never does.
 */
import { setTimeout as delay } from "timers/promises";
import Redis from "ioredis";
import { localClusterPerSuite } from "../harness/suite";
import { pollUntil } from "../../tools/lib/poll";

const isNoReplicas = (error: unknown) => error instanceof Error && error.message.startsWith("NOREPLICAS");

describe("the write guard on real processes", () => {
    const cluster = localClusterPerSuite();

    /**
     * Freezes every replica (no more REPLCONF ACKs reach the master, as when the master is cut off) and writes to the
     * master every 10 ms until it answers NOREPLICAS; returns the time from the freeze to that answer.
     */
    async function refusalAfterReplicasFallSilent(writer: Redis, round: number): Promise<number> {
        const replicas = cluster().redisNodes.slice(1);
        const frozenAt = Date.now();
        replicas.forEach((replica) => cluster().freeze(replica.name));
        try {
            return await pollUntil(
                "the master to refuse a write",
                async () => {
                    try {
                        await writer.set(`guard:${round}`, String(Date.now()));
                        return undefined;
                    } catch (error) {
                        return isNoReplicas(error) ? Date.now() - frozenAt : undefined;
                    }
                },
                { timeoutMs: 10000, intervalMs: 10 },
            );
        } finally {
            replicas.forEach((replica) => cluster().thaw(replica.name));
        }
    }

    test("a master whose replicas fall silent refuses writes within 3 s (1 s lag, acknowledged once a second)", async () => {
        const master = cluster().redisNodes[0];
        const writer = cluster().connect(master.name, cluster().appUser);
        const windows: number[] = [];
        for (let round = 0; round < 5; round++) {
            windows.push(await refusalAfterReplicasFallSilent(writer, round));
            await pollUntil(
                "the master to accept writes again",
                async () => ((await writer.set("guard:again", "1").catch(() => undefined)) === "OK" ? true : undefined),
                { timeoutMs: 10000, intervalMs: 50 },
            );
            // Start the next round at another point of the one-second acknowledgement cycle.
            await delay(230);
        }
        console.log(`write guard: refused ${windows.join(", ")} ms after the replicas fell silent`);
        // The master counts a replica while its last ACK is at most 1 s old, in whole seconds, checked once a
        // second. The last ACK came up to 1 s before the freeze, so the window is at most 3 s, about 2 s typically.
        for (const window of windows) {
            expect(window).toBeLessThanOrEqual(3100);
        }
    }, 90000);

    test("a healthy master under load, with replicas forking and serving reads, never refuses a write", async () => {
        const master = cluster().redisNodes[0];
        const replicas = cluster().redisNodes.slice(1);
        const value = "x".repeat(4096);
        const durationMs = 12000;
        const deadline = Date.now() + durationMs;
        let written = 0;
        const refused: string[] = [];

        const writers = Array.from({ length: 4 }, () => cluster().connect(master.name, cluster().appUser)).map(
            async (writer, index) => {
                for (let batch = 0; Date.now() < deadline && batch < 100000; batch++) {
                    const pipeline = writer.pipeline();
                    for (let key = 0; key < 100; key++) {
                        pipeline.set(`load:${index}:${key}`, value);
                    }
                    const results = (await pipeline.exec()) ?? [];
                    for (const [error] of results) {
                        if (error) {
                            refused.push(error.message);
                        } else {
                            written++;
                        }
                    }
                }
            },
        );
        const readers = replicas.map(async (replica) => {
            const reader = cluster().connect(replica.name, cluster().appUser);
            for (let round = 0; Date.now() < deadline && round < 1000000; round++) {
                await reader.get(`load:${round % 4}:${round % 100}`);
            }
        });
        // Every replica forks twice while it applies the stream: an RDB save and an AOF rewrite (one it started
        // by itself, after its full sync, counts as well).
        const alreadyForking = (error: Error) => {
            if (!/already in progress/.test(error.message)) {
                throw error;
            }
        };
        const forks = replicas.map(async (replica) => {
            const admin = cluster().connect(replica.name);
            await delay(2000);
            // SCHEDULE: run it as soon as another fork (say, the AOF rewrite after the full sync) has finished.
            await admin.call("BGSAVE", "SCHEDULE");
            await delay(4000);
            await admin.bgrewriteaof().catch(alreadyForking);
        });
        await Promise.all([...writers, ...readers, ...forks]);

        const megabytes = (written * value.length) / 1e6;
        console.log(
            `write guard under load: ${written} writes (${(megabytes / (durationMs / 1000)).toFixed(1)} MB/s) in ${durationMs} ms, ${refused.length} refused`,
        );
        expect(refused).toEqual([]);
        expect(written).toBeGreaterThan(10000);
        for (const replica of replicas) {
            const forksDone = await cluster().withConnection(replica.name, async (client) => {
                const info = await client.info("persistence");
                return /^rdb_last_bgsave_status:ok/m.test(info) && /^aof_last_bgrewrite_status:ok/m.test(info);
            });
            expect(forksDone).toBe(true);
        }
    }, 60000);
});
