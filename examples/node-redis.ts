/**
 * npm run example:node-redis -- [--outputs FILE | --stack NAME] [--seconds N] [--interval MS]
 *
 * node-redis 6 (`createSentinel`) through the Sentinels, with the settings the README documents: asks the
 * Sentinels as clientsentinel, writes as the application user, and prints each failover it rides through.
 * FILE holds `pulumi stack output --json --show-secrets`; without it the example asks the Pulumi CLI.
 */
import { nodeRedisClient } from "../tools/lib/clients";
import { withTimeout } from "../tools/lib/poll";
import { runExample } from "./ride";

runExample("node-redis", async (outputs) => {
    const redis = nodeRedisClient(outputs);
    await withTimeout("node-redis to connect through the Sentinels", redis.connect(), 10_000);
    return {
        write: async (key, value) => {
            await redis.set(key, value);
        },
        master: () => {
            const node = redis.getMasterNode();
            return node ? `${node.host}:${node.port}` : undefined;
        },
        close: async () => {
            await redis.destroy();
        },
    };
});
