/**
 * The health gate of an update. `pulumi up` waits for each container it replaces to be healthy, but a container it
 * leaves alone is a step that returns at once (pulumi/pulumi pkg/resource/deploy/step.go, SameStep.Apply), so a node
 * that is already down does not hold the next replacement back. Before an update replaces anything, the rest of the
 * cluster must therefore be healthy: every node answering, the replicas linked, the Sentinels agreeing and none in
 * TILT (the assessment `npm run status` makes).
 */
import { Engine, switchRefusal } from "../../settings/engine";
import { assessCluster, ClusterAssessment } from "./assess";
import { ClusterDescription } from "./cluster";
import { observeCluster } from "./observe";
import { pollUntil } from "./poll";

export interface GateVerdict {
    readonly healthy: boolean;
    /** One line: the master when healthy, otherwise every problem, each naming its node. */
    readonly line: string;
    readonly waitedMs: number;
}

/**
 * Asks the cluster until it is healthy, for at most `waitMs` (a cluster just started or just updated settles within
 * seconds: the Sentinels learn replicas from the master's INFO, every 0.5 s with the program's image, 10 s by Sentinel's
 * own period), and returns the last assessment.
 */
export async function assessUntilHealthy(description: ClusterDescription, waitMs: number): Promise<ClusterAssessment> {
    let last: ClusterAssessment | undefined;
    try {
        return await pollUntil(
            "the cluster to be healthy",
            async () => {
                const { sentinels, nodes } = await observeCluster(description);
                last = assessCluster(description, sentinels, nodes);
                return last.healthy ? last : undefined;
            },
            { timeoutMs: waitMs, intervalMs: 1000 },
        );
    } catch (error) {
        if (last === undefined) {
            throw error;
        }
        return last;
    }
}

/**
 * The gate: assessUntilHealthy, said in one line; and, given the engine of the image the update deploys (`target`),
 * a refusal when that engine cannot read the data of the engine the nodes run now (settings/engine.ts, switchRefusal).
 */
export async function healthGate(description: ClusterDescription, waitMs: number, target?: Engine): Promise<GateVerdict> {
    const started = Date.now();
    const assessment = await assessUntilHealthy(description, waitMs);
    const waitedMs = Date.now() - started;
    const refusal =
        target &&
        switchRefusal(
            assessment.nodes.map((row) => row.version).filter((version) => version !== "?"),
            target,
        );
    if (refusal) {
        return { healthy: false, line: refusal, waitedMs };
    }
    if (assessment.healthy) {
        return { healthy: true, line: `the cluster is healthy (master ${assessment.master})`, waitedMs };
    }
    return {
        healthy: false,
        line: `refusing to update: the cluster is not healthy after ${Math.round(waitMs / 1000)} s: ${assessment.problems.join("; ")}`,
        waitedMs,
    };
}
