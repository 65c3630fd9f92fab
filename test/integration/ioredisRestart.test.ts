/**
 * The guard against ioredis 6.0.0 ending a Sentinel client for good in a failover (tools/lib/clients.ts,
 * restartWhenEnded), on a real redis-server: a client that ends without being asked to is started again, and one
 * the program closes stays closed.
 */
import { spawn } from "child_process";
import { once } from "events";
import Redis from "ioredis";
import { restartWhenEnded } from "../../tools/lib/clients";
import { pollUntil } from "../../tools/lib/poll";

const port = 27451;

describe("restartWhenEnded", () => {
    const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: "ignore",
    });
    beforeAll(async () => {
        await pollUntil(
            "redis-server to answer",
            async () => {
                const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null });
                probe.on("error", () => undefined);
                try {
                    await probe.connect();
                    return (await probe.ping()) === "PONG" ? true : undefined;
                } finally {
                    probe.disconnect();
                }
            },
            { timeoutMs: 10_000, intervalMs: 100 },
        );
    });
    afterAll(async () => {
        server.kill("SIGKILL");
        await once(server, "exit");
    });

    const client = (lazyConnect = false) => {
        const redis = new Redis({ port, host: "127.0.0.1", lazyConnect, retryStrategy: () => 100, maxRetriesPerRequest: 0 });
        redis.on("error", () => undefined);
        return restartWhenEnded(redis);
    };

    it("starts a client again when it ends without being asked to (its connector disconnected while it connects)", async () => {
        // The race itself, without Sentinels: the connector is told to disconnect while a connect is in flight (what
        // ioredis's failover detector does), the connect fails with "Connection is closed." and ioredis ends the client.
        const redis = client(true);
        try {
            const first = redis.connect();
            (redis as unknown as { connector: { disconnect(): void } }).connector.disconnect();
            await expect(first).rejects.toThrow("Connection is closed.");
            const pong = await pollUntil("the client to answer again", () => redis.ping().catch(() => undefined), {
                timeoutMs: 5000,
                intervalMs: 50,
            });
            expect(pong).toBe("PONG");
        } finally {
            redis.disconnect();
        }
    });

    it("leaves a client the program closed closed", async () => {
        const redis = client();
        await once(redis, "ready");
        redis.disconnect();
        await once(redis, "end");
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(redis.status).toBe("end");
        const quitting = client();
        await once(quitting, "ready");
        await quitting.quit();
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(quitting.status).toBe("end");
    });
});
