/**
 * What both examples share: read the stack outputs, then write one key after another through a Sentinel-aware
 * client and print each failover it rides through. Only the client differs (examples/ioredis.ts,
 * examples/node-redis.ts); its settings come from tools/lib/clients.ts, the ones the README documents.
 */
import { parseArgs } from "util";
import { setTimeout as delay } from "timers/promises";
import { ClusterDescription, loadDescription } from "../tools/lib/cluster";

/** The part of a client an example needs. */
export interface ExampleClient {
    /** Writes one key as the application user; resolves once the master has taken it. */
    write(key: string, value: string): Promise<void>;
    /** The master ("ip:port") the client is writing to now, if it knows one. */
    master(): string | undefined;
    close(): Promise<void>;
}

const usage = "usage: [--outputs FILE | --stack NAME] [--seconds N] [--interval MS]";

function options() {
    const { values } = parseArgs({
        options: {
            outputs: { type: "string" },
            stack: { type: "string" },
            seconds: { type: "string" },
            interval: { type: "string", default: "100" },
        },
    });
    const seconds = values.seconds === undefined ? Number.POSITIVE_INFINITY : Number(values.seconds);
    const interval = Number(values.interval);
    if (!(seconds > 0)) {
        throw new Error(`--seconds must be a positive number, got ${JSON.stringify(values.seconds)}; ${usage}`);
    }
    if (!Number.isInteger(interval) || interval < 1 || interval > 60_000) {
        throw new Error(`--interval must be an integer from 1 to 60000 ms, got ${JSON.stringify(values.interval)}; ${usage}`);
    }
    return { from: values.outputs, stack: values.stack, seconds, interval };
}

/**
 * Connects with `connect(outputs)`, then writes `example:<library>:<n>` every --interval ms until --seconds have
 * passed or SIGINT/SIGTERM. Prints the master it writes to, and for each failover the old and new master and how
 * long no write succeeded. Exits non-zero when it could not connect or never wrote.
 */
export function runExample(library: string, connect: (outputs: ClusterDescription) => Promise<ExampleClient>): void {
    const say = (line: string) => console.log(`${library}: ${line}`);
    const run = async () => {
        const { from, stack, seconds, interval } = options();
        const client = await connect(loadDescription({ from, stack }));
        let stopping = false;
        const stop = () => (stopping = true);
        process.once("SIGINT", stop).once("SIGTERM", stop);
        const until = Date.now() + seconds * 1000;
        let master = client.master();
        say(`connected through the Sentinels; writing to the master ${master ?? "(not known yet)"} every ${interval} ms`);
        let written = 0;
        let failed = 0;
        let failovers = 0;
        let lastWrite = Date.now();
        let failedSince = 0;
        try {
            for (let n = 0; !stopping && Date.now() < until; n++) {
                try {
                    await client.write(`example:${library}:${n}`, new Date().toISOString());
                    written++;
                    const now = client.master();
                    if (now !== master) {
                        failovers++;
                        say(
                            `failover: the master moved from ${master} to ${now}; no write succeeded for ${Date.now() - lastWrite} ms (${failedSince} attempts failed)`,
                        );
                        master = now;
                    }
                    lastWrite = Date.now();
                    failedSince = 0;
                } catch (error) {
                    failed++;
                    if (failedSince++ === 0) {
                        say(`write failed, retrying: ${(error as Error).message.split("\n")[0]}`);
                    }
                }
                await delay(interval);
            }
        } finally {
            await client.close();
        }
        say(`done: ${written} writes, ${failed} failed attempts, ${failovers} failover(s) ridden through`);
        if (written === 0) {
            throw new Error("no write succeeded");
        }
    };
    run().then(
        () => process.exit(0),
        (error) => {
            console.error(`${library}: ${(error as Error).message}`);
            process.exit(1);
        },
    );
}
