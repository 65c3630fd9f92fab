/** Replication as rendered: the replicas log in as the replication user, copy every write and refuse their own. */
import { localClusterPerSuite } from "../harness/suite";
import { pollUntil } from "../../tools/lib/poll";

describe("replication on real Redis processes", () => {
    const cluster = localClusterPerSuite();

    test("writes on the master are readable on both replicas", async () => {
        const [master, ...replicas] = cluster().redisNodes;
        const writer = cluster().connect(master.name, cluster().appUser);
        const values = Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`replication:${index}`, `value-${index}`]));
        for (const [key, value] of Object.entries(values)) {
            await writer.set(key, value);
        }
        // WAIT: both replicas have acknowledged everything written so far on this connection.
        expect(await writer.call("WAIT", "2", "5000")).toBe(2);
        for (const replica of replicas) {
            const reader = cluster().connect(replica.name, cluster().appUser);
            expect(await reader.mget(...Object.keys(values))).toEqual(Object.values(values));
            reader.disconnect();
        }
        writer.disconnect();
    });

    test("each replica logged in with the replication user and reports its link up", async () => {
        for (const replica of cluster().redisNodes.slice(1)) {
            const admin = cluster().connect(replica.name);
            const info = await pollUntil(
                `${replica.name} link up`,
                async () => {
                    const text = await admin.info("replication");
                    return /master_link_status:up/.test(text) ? text : undefined;
                },
                { timeoutMs: 5000 },
            );
            expect(info).toMatch(new RegExp(`master_host:${cluster().redisNodes[0].ip.replace(/\./g, "\\.")}`));
            admin.disconnect();
        }
        expect(cluster().logs(cluster().redisNodes[1].name)).toMatch(/MASTER <-> REPLICA sync: Finished with success/);
    });

    test("replicas refuse writes, also from admin", async () => {
        for (const replica of cluster().redisNodes.slice(1)) {
            for (const user of [cluster().appUser, "admin"]) {
                const client = cluster().connect(replica.name, user);
                await expect(client.set("replication:refused", "x")).rejects.toThrow(/^READONLY/);
                client.disconnect();
            }
        }
    });
});
