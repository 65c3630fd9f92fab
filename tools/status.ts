/**
 * npm run status -- [--from FILE | --stack NAME] [--json]
 *
 * Asks every Sentinel and every Redis node of the cluster and prints who is master, how each Sentinel sees each
 * node, replication offsets and lag, and every problem found. Exit code: 0 healthy, 1 unhealthy, 2 cannot run.
 */
import { parseArgs } from "util";
import { assessCluster } from "./lib/assess";
import { loadDescription } from "./lib/cluster";
import { observeCluster } from "./lib/observe";
import { formatAssessment } from "./lib/report";

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: { from: { type: "string" }, stack: { type: "string" }, json: { type: "boolean", default: false } },
    });
    const description = loadDescription(values);
    const { sentinels, nodes } = await observeCluster(description);
    const assessment = assessCluster(description, sentinels, nodes);
    console.log(values.json ? JSON.stringify(assessment, null, 2) : formatAssessment(assessment));
    return assessment.healthy ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (error) => {
        console.error(`status: ${(error as Error).message}`);
        process.exit(2);
    },
);
