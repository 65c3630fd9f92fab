/**
 * npm run gate -- [--from FILE | --stack NAME] [--wait SECONDS] [--stack-file FILE]
 *
 * The check `npm run deploy` makes before it updates a deployed cluster (tools/lib/gate.ts): waits up to --wait
 * seconds (default 60) for the cluster to be healthy and prints one line. With --stack-file (the stack's settings,
 * e.g. Pulumi.dev.yaml), it also refuses an engine the nodes' data cannot move to. Exit code: 0 go ahead, 1 refused,
 * 2 cannot run.
 */
import { parseArgs } from "util";
import { loadSettings, stackFileReader } from "../settings";
import { engineOf } from "../settings/engine";
import { loadDescription } from "./lib/cluster";
import { secondsOption } from "./lib/poll";
import { clusterOptions, runTool } from "./lib/run";
import { healthGate } from "./lib/gate";

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            ...clusterOptions,
            wait: { type: "string", default: "60" },
            "stack-file": { type: "string" },
        },
    });
    const waitMs = secondsOption("wait", values.wait, 0);
    const stackFile = values["stack-file"];
    const target = stackFile === undefined ? undefined : engineOf(loadSettings(stackFileReader(stackFile)).image);
    const verdict = await healthGate(loadDescription(values), waitMs, target);
    console.log(`gate: ${verdict.line}`);
    return verdict.healthy ? 0 : 1;
}

runTool("gate", main);
