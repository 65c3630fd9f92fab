/**
 * npm run example:ioredis -- [--outputs FILE | --stack NAME] [--seconds N] [--interval MS]
 *
 * ioredis through the Sentinels, with the settings the README documents: asks the Sentinels as clientsentinel,
 * writes as the application user, and prints each failover it rides through. FILE holds
 * `pulumi stack output --json --show-secrets`; without it the example asks the Pulumi CLI.
 */
import { once } from "events";
import { ioredisClient } from "../tools/lib/clients";
import { withTimeout } from "../tools/lib/poll";
import { runExample } from "./ride";

runExample("ioredis", async (outputs) => {
    const redis = ioredisClient(outputs);
    // The documented settings turn the offline queue off: wait for "ready" before the first command.
    await withTimeout("ioredis to connect through the Sentinels", once(redis, "ready"), 10_000);
    return {
        write: async (key, value) => {
            await redis.set(key, value);
        },
        master: () => (redis.stream?.remoteAddress ? `${redis.stream.remoteAddress}:${redis.stream.remotePort}` : undefined),
        close: async () => redis.disconnect(),
    };
});
