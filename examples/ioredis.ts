/**
 * npm run example:ioredis -- [--outputs FILE | --stack NAME] [--seconds N] [--interval MS]
 *
 * ioredis through the Sentinels, with the settings the README documents: asks the Sentinels as clientsentinel,
 * writes as the application user, and prints each failover it rides through. FILE holds
 * `pulumi stack output --json --show-secrets`; without it the example asks the Pulumi CLI.
 */
import { connectedIoredis } from "../tools/lib/clients";
import { runExample } from "./ride";

runExample("ioredis", async (outputs) => {
    // The documented settings turn the offline queue off: the client is ready before the first command.
    const redis = await connectedIoredis(outputs);
    return {
        write: async (key, value) => {
            await redis.set(key, value);
        },
        master: () => (redis.stream?.remoteAddress ? `${redis.stream.remoteAddress}:${redis.stream.remotePort}` : undefined),
        close: async () => redis.disconnect(),
    };
});
