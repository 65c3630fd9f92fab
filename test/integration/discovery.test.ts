/**
 * Master and replica discovery through the Sentinels with the real client libraries, logged in as clientsentinel:
 * ioredis (role master and role slave, which sends SENTINEL SLAVES), node-redis createSentinel with a replica pool,
 * and redis-py (Debian's python3-redis: SENTINEL MASTERS and SENTINEL SLAVES). A refused command only shows in the
 * servers' ACL LOG (the libraries retry or fall back), so every test ends by reading it.
 */
import { execFile } from "child_process";
import { once } from "events";
import * as fs from "fs";
import Redis from "ioredis";
import { createSentinel } from "redis";
import { ioredisOptions } from "../../tools/lib/clients";
import { pollUntil, withTimeout } from "../../tools/lib/poll";
import { LocalCluster } from "../harness/localCluster";
import { localClusterPerSuite } from "../harness/suite";

/** The interpreter Debian's python3-redis is installed for (a pyenv or venv python would not see it). */
const debianPython = "/usr/bin/python3";

const redisPyScript = `
import os
from redis.sentinel import Sentinel
sentinels = [(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in os.environ["SENTINELS"].split(",")]
login = {"username": os.environ["APP_USER"], "password": os.environ["APP_PASSWORD"], "socket_timeout": 2}
sentinel = Sentinel(sentinels, socket_timeout=2,
    sentinel_kwargs={"username": "clientsentinel", "password": os.environ["CLIENTSENTINEL_PASSWORD"], "socket_timeout": 2})
master = sentinel.master_for(os.environ["MASTER_NAME"], **login)
master.set("discovery:redis-py", "written-by-redis-py")
master.execute_command("WAIT", 2, 2000)
replica = sentinel.slave_for(os.environ["MASTER_NAME"], **login)
print(replica.execute_command("ROLE")[0].decode(), replica.get("discovery:redis-py").decode())
`;

function runRedisPy(cluster: LocalCluster): Promise<string> {
    const env = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        SENTINELS: cluster.sentinelNodes.map((sentinel) => `${sentinel.ip}:${sentinel.port}`).join(","),
        MASTER_NAME: cluster.masterName,
        APP_USER: cluster.appUser,
        APP_PASSWORD: cluster.passwords.app,
        CLIENTSENTINEL_PASSWORD: cluster.passwords.clientsentinel,
    };
    return new Promise((resolve, reject) => {
        execFile(debianPython, ["-c", redisPyScript], { env, timeout: 20000 }, (error, stdout, stderr) => {
            // stderr is a Python traceback at worst; the passwords only travel in the environment.
            if (error) {
                reject(new Error(`redis-py failed: ${stderr.trim().split("\n").slice(-1)[0] ?? error.message}`));
            } else {
                resolve(stdout.trim());
            }
        });
    });
}

function redisPyMissing(): string | undefined {
    if (!fs.existsSync(debianPython)) {
        return `${debianPython} is missing`;
    }
    const hasModule = fs.existsSync("/usr/lib/python3/dist-packages/redis/sentinel.py");
    return hasModule ? undefined : "Debian's python3-redis is not installed (apt-get install python3-redis)";
}

describe("clients discover the master and the replicas through the Sentinels as clientsentinel", () => {
    const cluster = localClusterPerSuite();

    /** Every ACL LOG entry on every node and Sentinel since the last reset: user, command and reason. */
    const aclLogs = async () => {
        const entries: string[] = [];
        for (const node of cluster().nodes) {
            const log = (await cluster().withConnection(node.name, (client) => client.call("ACL", "LOG"))) as unknown[][];
            for (const entry of log) {
                const fields = new Map<string, unknown>();
                for (let index = 0; index + 1 < entry.length; index += 2) {
                    fields.set(String(entry[index]), entry[index + 1]);
                }
                entries.push(`${node.name}: ${fields.get("username")} ${fields.get("reason")} ${fields.get("object")}`);
            }
        }
        return entries;
    };

    beforeEach(async () => {
        for (const node of cluster().nodes) {
            await cluster().withConnection(node.name, (client) => client.call("ACL", "LOG", "RESET"));
        }
    });

    test("ioredis finds the master (role master) and a replica (role slave: SENTINEL SLAVES)", async () => {
        const description = cluster().description();
        const master = new Redis(ioredisOptions(description));
        const replica = new Redis({ ...ioredisOptions(description), role: "slave", failoverDetector: false });
        // Listen before awaiting either: the second may be ready while the first is awaited.
        const ready = [master, replica].map((client) => {
            client.on("error", () => undefined);
            return once(client, "ready");
        });
        try {
            await withTimeout("ioredis to reach the master and a replica", Promise.all(ready), 10000);
            await master.set("discovery:ioredis", "written-by-ioredis");
            expect(((await replica.call("ROLE")) as string[])[0]).toBe("slave");
            const read = await pollUntil(
                "the replica to have the write",
                async () => (await replica.get("discovery:ioredis")) ?? undefined,
                { timeoutMs: 5000, intervalMs: 50 },
            );
            expect(read).toBe("written-by-ioredis");
        } finally {
            master.disconnect();
            replica.disconnect();
        }
        expect(await aclLogs()).toEqual([]);
    }, 30000);

    test("node-redis createSentinel with a replica pool writes to the master and reads from a replica", async () => {
        const client = createSentinel({
            name: cluster().masterName,
            sentinelRootNodes: cluster().sentinelNodes.map(({ ip, port }) => ({ host: ip, port })),
            sentinelClientOptions: { username: "clientsentinel", password: cluster().passwords.clientsentinel },
            nodeClientOptions: { username: cluster().appUser, password: cluster().passwords.app },
            replicaPoolSize: 1,
        });
        client.on("error", () => undefined);
        try {
            await withTimeout("node-redis to connect through the Sentinels", client.connect(), 10000);
            await client.set("discovery:node-redis", "written-by-node-redis");
            const read = await pollUntil(
                "a replica to serve the write",
                async () => (await client.get("discovery:node-redis")) ?? undefined,
                { timeoutMs: 5000, intervalMs: 50 },
            );
            expect(read).toBe("written-by-node-redis");
        } finally {
            client.destroy();
        }
        expect(await aclLogs()).toEqual([]);
    }, 30000);

    test("redis-py Sentinel.master_for and slave_for (SENTINEL MASTERS, SENTINEL SLAVES)", async () => {
        const missing = redisPyMissing();
        if (missing) {
            throw new Error(`redis-py cannot run: ${missing}`);
        }
        expect(await runRedisPy(cluster())).toBe("slave written-by-redis-py");
        expect(await aclLogs()).toEqual([]);
    }, 30000);
});
