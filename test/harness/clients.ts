/**
 * Sentinel-aware client libraries, configured exactly as the README documents (tools/lib/clients.ts): they ask the
 * Sentinels (as clientsentinel) where the master is and log in to it as the application user.
 */
import { once } from "events";
import Redis from "ioredis";
import { ClusterDescription } from "../../tools/lib/cluster";
import { ioredisClient, nodeRedisClient } from "../../tools/lib/clients";
import { withTimeout } from "../../tools/lib/poll";

/** ioredis in Sentinel mode, with the documented settings; resolves once it is connected to the master. */
export async function ioredisSentinelClient(cluster: ClusterDescription): Promise<Redis> {
    const client = ioredisClient(cluster);
    // The documented settings turn the offline queue off, so nothing may be sent before "ready".
    await withTimeout("ioredis to connect through the Sentinels", once(client, "ready"), 10000);
    return client;
}

/** node-redis 6 `createSentinel` with the documented settings, not yet connected. */
export function nodeRedisSentinelClient(cluster: ClusterDescription) {
    return nodeRedisClient(cluster);
}
