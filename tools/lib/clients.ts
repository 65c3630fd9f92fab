/**
 * The client settings this project documents (README: Connecting a client through the Sentinels), in one place: the
 * examples, the integration suite, the drill and the benchmarks all build their clients here. Both libraries ask the
 * Sentinels as clientsentinel where the master is and write to it as the application user.
 */
import { once } from "events";
import Redis, { RedisOptions } from "ioredis";
import { createSentinel, RedisSentinelOptions } from "redis";
import { ClusterDescription, tlsOptionsOf } from "./cluster";
import { withTimeout } from "./poll";

/** What a client needs from the stack outputs. */
export type ClientStack = Pick<
    ClusterDescription,
    "masterName" | "sentinelNodes" | "appUser" | "passwords" | "tlsCaCertificate" | "tlsClientCertificate" | "tlsClientKey"
>;

/**
 * ioredis: a short command timeout so that a frozen master is noticed in under a second, and the failover detector,
 * which subscribes to the Sentinels' +switch-master and reconnects at once instead of waiting for errors.
 */
export function ioredisOptions(stack: ClientStack): RedisOptions {
    const tls = tlsOptionsOf(stack);
    return {
        // With tlsEnabled: TLS to the Sentinels and to the node they name, each verified against the stack's CA.
        ...(tls ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
        sentinels: stack.sentinelNodes.map((sentinel) => ({ host: sentinel.ip, port: sentinel.port })),
        name: stack.masterName,
        role: "master",
        sentinelUsername: "clientsentinel",
        sentinelPassword: stack.passwords.clientsentinel,
        username: stack.appUser,
        password: stack.passwords.app,
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

/** An ioredis client with the documented settings; errors during a failover are expected, the caller counts them. */
export function ioredisClient(stack: ClientStack): Redis {
    const client = new Redis(ioredisOptions(stack));
    client.on("error", () => undefined);
    return restartWhenEnded(client);
}

/**
 * ioredis 6.0.0 can end a Sentinel client for good in a failover. When the master's connection closes (the master
 * crashed, or its host lost power: the socket is reset, not left hanging) the client reconnects through the
 * Sentinels; if the failover detector's +switch-master arrives meanwhile, the detector calls the connector's
 * disconnect(), the connect in flight throws "Connection is closed." because the connector is no longer connecting
 * (built/connectors/SentinelConnector/index.js, connectToNext), and the client takes that failure as final: status
 * "end" (built/Redis.js, connect). Nothing reconnects it, and every command fails with "Connection is closed.".
 * Measured on the lab: 2 of 6 power-offs of the master's host. This starts such a client again, unless the program
 * closed it itself (disconnect(), quit(), end()).
 */
export function restartWhenEnded(client: Redis): Redis {
    let closedOnPurpose = false;
    const disconnect = client.disconnect.bind(client);
    const quit = client.quit.bind(client);
    client.disconnect = (reconnect = false) => {
        closedOnPurpose ||= !reconnect;
        disconnect(reconnect);
    };
    client.quit = ((...args: Parameters<Redis["quit"]>) => {
        closedOnPurpose = true;
        return quit(...args);
    }) as Redis["quit"];
    client.on("end", () => {
        if (!closedOnPurpose) {
            setTimeout(() => closedOnPurpose || client.connect().catch(() => undefined), 100);
        }
    });
    return client;
}

/** ioredisClient, resolved once it is connected to the master (the documented settings have no offline queue). */
export async function connectedIoredis(stack: ClientStack): Promise<Redis> {
    const client = ioredisClient(stack);
    await withTimeout("ioredis to connect through the Sentinels", once(client, "ready"), 10_000);
    return client;
}

/**
 * node-redis 6 `createSentinel`. It learns of a failover from the events of one Sentinel (PSUBSCRIBE, so
 * clientsentinel needs +psubscribe and the channels), then re-reads SENTINEL MASTER from the first Sentinel that
 * answers, every second until that Sentinel no longer flags the master down or failing over.
 */
export function nodeRedisOptions(stack: ClientStack) {
    // With tlsEnabled: TLS to the Sentinels and to the nodes, each verified against the stack's CA.
    const tls = tlsOptionsOf(stack);
    const socket = (connectTimeout: number) => (tls ? { connectTimeout, tls: true as const, ...tls } : { connectTimeout });
    return {
        name: stack.masterName,
        sentinelRootNodes: stack.sentinelNodes.map(({ ip, port }) => ({ host: ip, port })),
        sentinelClientOptions: {
            username: "clientsentinel",
            password: stack.passwords.clientsentinel,
            socket: socket(500),
        },
        nodeClientOptions: {
            username: stack.appUser,
            password: stack.passwords.app,
            socket: socket(1000),
        },
        // A command to a frozen master fails after 500 ms instead of waiting until the master is thawed.
        commandOptions: { timeout: 500 },
        // Re-read the topology every second even without an event. Its default, 0, means never: a client that
        // missed the Sentinel's events stays on the old master until a command gets READONLY, which a frozen
        // master sends only after it is thawed and demoted: 8 s frozen plus about 10 s, which matches the 18 s that
        // issue 12 saw once (not reproduced here in 27 drills).
        scanInterval: 1000,
    } satisfies RedisSentinelOptions;
}

/**
 * A node-redis Sentinel client with the documented settings (a benchmark may try another `scanInterval`); call
 * connect() before the first command.
 */
export function nodeRedisClient(stack: ClientStack, scanInterval = nodeRedisOptions(stack).scanInterval) {
    const client = createSentinel({ ...nodeRedisOptions(stack), scanInterval });
    client.on("error", () => undefined);
    return client;
}
