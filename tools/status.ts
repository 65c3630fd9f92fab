/**
 * npm run status -- [--from FILE | --stack NAME] [--wait SECONDS] [--json]
 *
 * Asks every Sentinel and every Redis node of the cluster and prints who is master, how each Sentinel sees each
 * node, replication offsets and lag, and every problem found. With --wait, asks again every second until the cluster
 * is healthy or that many seconds have passed (a cluster just deployed settles within about ten), and reports the last
 * answer. Exit code: 0 healthy, 1 unhealthy, 2 cannot run.
 */
import { parseArgs } from "util";
import { loadDescription } from "./lib/cluster";
import { secondsOption } from "./lib/poll";
import { clusterOptions, runTool } from "./lib/run";
import { assessUntilHealthy } from "./lib/gate";
import { formatAssessment } from "./lib/report";

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            ...clusterOptions,
            wait: { type: "string", default: "0" },
            json: { type: "boolean", default: false },
        },
    });
    const waitMs = secondsOption("wait", values.wait, 0);
    const assessment = await assessUntilHealthy(loadDescription(values), waitMs);
    console.log(values.json ? JSON.stringify(assessment, null, 2) : formatAssessment(assessment));
    return assessment.healthy ? 0 : 1;
}

runTool("status", main);
