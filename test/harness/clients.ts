/**
 * Sentinel-aware client libraries, configured as an application should configure them against this cluster: they ask
 * the Sentinels (as clientsentinel) where the master is and log in to it as the application user.
 * ioredis uses exactly the settings the README documents (tools/lib/sentinelClient.ts).
 */
import { once } from "events";
import Redis from "ioredis";
import { createSentinel } from "redis";
import { ClusterDescription } from "../../tools/lib/cluster";
import { sentinelClient } from "../../tools/lib/sentinelClient";
import { withTimeout } from "../../tools/lib/poll";

/** ioredis in Sentinel mode, with the documented settings; resolves once it is connected to the master. */
export async function ioredisSentinelClient(cluster: ClusterDescription): Promise<Redis> {
    const client = sentinelClient(cluster);
    // The documented settings turn the offline queue off, so nothing may be sent before "ready".
    await withTimeout("ioredis to connect through the Sentinels", once(client, "ready"), 10000);
    return client;
}

/**
 * node-redis v5 `createSentinel`, with its defaults. It follows the Sentinels itself: it PSUBSCRIBEs to their events
 * on one Sentinel (so clientsentinel needs +psubscribe and the channels) and re-reads SENTINEL MASTER on each event,
 * retrying once a second while the failover is in progress.
 */
export function nodeRedisSentinelClient(cluster: ClusterDescription) {
    const client = createSentinel({
        name: cluster.masterName,
        sentinelRootNodes: cluster.sentinelNodes.map(({ ip, port }) => ({ host: ip, port })),
        sentinelClientOptions: { username: "clientsentinel", password: cluster.passwords.clientsentinel },
        nodeClientOptions: { username: cluster.appUser, password: cluster.passwords.app },
    });
    client.on("error", () => undefined);
    return client;
}
