import Redis, { RedisOptions } from "ioredis";
import { ClusterDescription } from "./cluster";

/**
 * The ioredis settings we document for applications: Sentinel discovery as clientsentinel, data as the app user,
 * a short command timeout so that a frozen master is noticed in under a second, and the failover detector,
 * which subscribes to the Sentinels' +switch-master and reconnects at once instead of waiting for errors.
 */
export function sentinelClientOptions(description: ClusterDescription): RedisOptions {
    return {
        sentinels: description.sentinelNodes.map((sentinel) => ({ host: sentinel.ip, port: sentinel.port })),
        name: description.masterName,
        role: "master",
        sentinelUsername: "clientsentinel",
        sentinelPassword: description.passwords.clientsentinel,
        username: description.appUser,
        password: description.passwords.app,
        failoverDetector: true,
        // On +switch-master ioredis ends the old master's connection and waits for it to close, at most
        // disconnectTimeout (default 2000 ms), before it reconnects. A paused or partitioned master never answers
        // the close, so the default adds 2 s to every failover (measured by test/integration/failover.test.ts).
        disconnectTimeout: 100,
        connectTimeout: 1000,
        commandTimeout: 500,
        sentinelCommandTimeout: 500,
        // Keep retrying (every 100 ms) while the Sentinels elect a new master.
        sentinelRetryStrategy: () => 100,
        retryStrategy: () => 100,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
    };
}

export function sentinelClient(description: ClusterDescription): Redis {
    const client = new Redis(sentinelClientOptions(description));
    // Errors during a failover are expected; the writer counts them.
    client.on("error", () => undefined);
    return client;
}
