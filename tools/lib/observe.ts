import Redis from "ioredis";
import { NodeAddress } from "../../settings/types";
import { NodeObservation, SentinelObservation } from "./assess";
import { ClusterDescription, Login, loginAs } from "./cluster";

/** One short-lived connection with every wait bounded: no retry, no offline queue. */
export async function withConnection<T>(
    node: NodeAddress,
    login: Login,
    work: (client: Redis) => Promise<T>,
    timeoutMs = 2000,
): Promise<T> {
    const client = new Redis({
        host: node.ip,
        port: node.port,
        username: login.username,
        password: login.password,
        tls: login.tls,
        lazyConnect: true,
        // The ready check sends INFO, which the Sentinel client profile rightly refuses.
        enableReadyCheck: false,
        connectTimeout: timeoutMs,
        commandTimeout: timeoutMs,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
    });
    client.on("error", () => undefined);
    try {
        await client.connect();
        return await work(client);
    } finally {
        client.disconnect();
    }
}

const pairs = (flat: unknown): Record<string, string> => {
    const list = flat as string[];
    const result: Record<string, string> = {};
    for (let i = 0; i + 1 < list.length; i += 2) {
        result[list[i]] = list[i + 1];
    }
    return result;
};

/** Parses `INFO` text into its key:value fields. */
export function parseInfo(text: string): Record<string, string> {
    return Object.fromEntries(
        text
            .split(/\r?\n/)
            .filter((line) => line.includes(":") && !line.startsWith("#"))
            .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)]),
    );
}

/** Reads INFO server and replication fields into what the assessment needs. */
export function nodeObservationFromInfo(node: NodeAddress, info: Record<string, string>): NodeObservation {
    // Valkey reports its own version beside the Redis version it is compatible with (server_name:valkey).
    const engine = info.server_name === "valkey" ? "valkey" : "redis";
    const version = info.valkey_version ?? info.redis_version;
    if (info.role === "master") {
        const lags: Record<string, number> = {};
        for (const [key, value] of Object.entries(info)) {
            if (/^slave\d+$/.test(key)) {
                const fields = Object.fromEntries(value.split(",").map((part) => part.split("=") as [string, string]));
                lags[`${fields.ip}:${fields.port}`] = Number(fields.lag);
            }
        }
        return {
            node,
            role: "master",
            engine,
            version,
            offset: Number(info.master_repl_offset),
            connectedReplicas: Number(info.connected_slaves),
            replicaLagSeconds: lags,
        };
    }
    return {
        node,
        role: "replica",
        engine,
        version,
        offset: Number(info.slave_repl_offset),
        masterAddress: `${info.master_host}:${info.master_port}`,
        linkUp: info.master_link_status === "up",
    };
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Seconds since a Sentinel entered TILT mode, or undefined when it is not in it. INFO is for admin only: the client
 * user has no business with a Sentinel's internals.
 */
async function tiltSince(description: ClusterDescription, sentinel: NodeAddress): Promise<number | undefined> {
    const info = parseInfo(await withConnection(sentinel, loginAs(description, "admin"), (client) => client.info("sentinel")));
    return info.sentinel_tilt === "1" ? Number(info.sentinel_tilt_since_seconds) : undefined;
}

/** Asks one Sentinel, as the client user, where the master is and which replicas and peers it knows. */
export async function observeSentinel(description: ClusterDescription, sentinel: NodeAddress): Promise<SentinelObservation> {
    try {
        const tiltSinceSeconds = await tiltSince(description, sentinel);
        return await withConnection(sentinel, loginAs(description, "clientsentinel"), async (client) => {
            const master = pairs(await client.call("SENTINEL", "MASTER", description.masterName));
            const replicas = ((await client.call("SENTINEL", "REPLICAS", description.masterName)) as unknown[]).map(pairs);
            const peers = ((await client.call("SENTINEL", "SENTINELS", description.masterName)) as unknown[]).map(pairs);
            return {
                sentinel,
                master: {
                    ip: master.ip,
                    port: Number(master.port),
                    flags: master.flags.split(","),
                    quorum: Number(master.quorum),
                },
                otherSentinels: Number(master["num-other-sentinels"]),
                replicas: replicas.map((r) => ({ ip: r.ip, port: Number(r.port), flags: r.flags.split(",") })),
                peers: peers.map((p) => ({ ip: p.ip, port: Number(p.port), runid: p.runid })),
                tiltSinceSeconds,
            };
        });
    } catch (error) {
        return { sentinel, error: message(error) };
    }
}

/** Asks one Redis node, as admin, for its replication state. */
export async function observeNode(description: ClusterDescription, node: NodeAddress): Promise<NodeObservation> {
    try {
        const info = await withConnection(node, loginAs(description, "admin"), async (client) =>
            parseInfo((await client.info("server")) + (await client.info("replication"))),
        );
        return nodeObservationFromInfo(node, info);
    } catch (error) {
        return { node, error: message(error) };
    }
}

/** Asks every Sentinel and every node at once. */
export async function observeCluster(description: ClusterDescription) {
    const [sentinels, nodes] = await Promise.all([
        Promise.all(description.sentinelNodes.map((sentinel) => observeSentinel(description, sentinel))),
        Promise.all(description.redisNodes.map((node) => observeNode(description, node))),
    ]);
    return { sentinels, nodes };
}
