/**
 * npm run status's observations and verdict on real processes: versions, a Sentinel in TILT mode after a stall, and a
 * fake peer learned from a hello. The rules themselves are unit-tested (test/unit/status.test.ts); this shows that
 * what real servers answer reaches them.
 */
import { assessCluster } from "../../tools/lib/assess";
import { observeCluster } from "../../tools/lib/observe";
import { pollUntil } from "../../tools/lib/poll";
import { localClusterPerSuite } from "../harness/suite";

describe("npm run status against real processes", () => {
    const cluster = localClusterPerSuite();
    const assess = async () => {
        const description = cluster().description();
        const { sentinels, nodes } = await observeCluster(description);
        return assessCluster(description, sentinels, nodes);
    };

    test("a healthy cluster is healthy, and every node shows the engine and version it runs", async () => {
        const assessment = await assess();
        expect(assessment.problems).toEqual([]);
        for (const row of assessment.nodes) {
            expect(row.version).toMatch(/^redis 7\.\d+\.\d+$/);
        }
    });

    test("a Sentinel that was frozen is shown in TILT mode", async () => {
        const sentinel = cluster().sentinelNodes[2];
        // Sentinel enters TILT when its timer runs more than 2 s late.
        cluster().freeze(sentinel.name);
        await new Promise((resolve) => setTimeout(resolve, 2500));
        cluster().thaw(sentinel.name);
        const assessment = await pollUntil(
            `${sentinel.name} to be reported in TILT mode`,
            async () => {
                const found = await assess();
                return found.sentinels[2].flags.includes("tilt") ? found : undefined;
            },
            { timeoutMs: 5000, intervalMs: 200 },
        );
        expect(assessment.problems.some((problem) => problem.startsWith(`${sentinel.name} is in TILT mode since`))).toBe(true);
    }, 20000);

    test("a peer learned from a forged hello is flagged on every Sentinel", async () => {
        const [master] = cluster().redisNodes;
        const hello = `127.0.0.1,1,${"e".repeat(40)},0,${cluster().masterName},${master.ip},${master.port},0`;
        await cluster().withConnection(master.name, (admin) => admin.publish("__sentinel__:hello", hello));
        const assessment = await pollUntil(
            "every Sentinel to be flagged for the fake peer",
            async () => {
                const found = await assess();
                const flagged = found.problems.filter((problem) =>
                    /knows Sentinels the stack does not declare: 127\.0\.0\.1:1 /.test(problem),
                );
                return flagged.length === cluster().sentinelNodes.length ? found : undefined;
            },
            { timeoutMs: 5000, intervalMs: 200 },
        );
        expect(assessment.healthy).toBe(false);
    }, 20000);
});
