/**
 * npm run gate -- [--from FILE | --stack NAME] [--wait SECONDS]
 *
 * The check `npm run deploy` makes before it updates a deployed cluster (tools/lib/gate.ts): waits up to --wait
 * seconds (default 60) for the cluster to be healthy and prints one line. Exit code: 0 healthy, 1 not, 2 cannot run.
 */
import { parseArgs } from "util";
import { loadDescription } from "./lib/cluster";
import { secondsOption } from "./lib/poll";
import { healthGate } from "./lib/gate";

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: { from: { type: "string" }, stack: { type: "string" }, wait: { type: "string", default: "60" } },
    });
    const waitMs = secondsOption("wait", values.wait, 0);
    const verdict = await healthGate(loadDescription(values), waitMs);
    console.log(`gate: ${verdict.line}`);
    return verdict.healthy ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (error) => {
        console.error(`gate: ${(error as Error).message}`);
        process.exit(2);
    },
);
