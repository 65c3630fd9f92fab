/**
 * npm run drill -- [--from FILE | --stack NAME] [--stop | --host NAME] [--timeout SECONDS] [--json]
 *
 * The seed's failover test against a running cluster: a writer confirms each write with WAIT 1, the current master's
 * container is paused (`docker pause`), the Sentinels elect a new master, the old one is unpaused (always) and must
 * rejoin as a replica. With --stop, a planned stop instead: `docker stop` (the master hands its role over before it
 * exits), then `docker start`. With --host NAME (a cluster on several hosts), a whole host frozen: every container on
 * that host's engine paused, then unpaused; the Sentinels of the other hosts fail over when it held the master, and
 * must not when it did not. Prints the Sentinel timeline, the write outage, the recovery time and any lost write.
 * Exit code: 0 passed, 1 a confirmed write was lost or a wait timed out, 2 cannot run (e.g. unhealthy cluster).
 */
import Docker from "dockerode";
import { parseArgs } from "util";
import { nodeStopSeconds } from "../components/nodeContainer";
import { ClusterDescription, loadDescription } from "./lib/cluster";
import { DrillReport, Fault, requireHealthy, runFailoverDrill } from "./lib/failover";
import { describeReport, engineAt, freezeHost, hostOf, HostFaultReport, runHostFault } from "./lib/hostFault";
import { secondsOption } from "./lib/poll";
import { clusterOptions, runTool } from "./lib/run";
import { formatTable } from "./lib/table";

/** Pauses the container whose name is the node's name, as `docker pause` does: a crash, as the Sentinels see it. */
export function dockerPause(docker = new Docker()): Fault {
    return {
        how: "docker pause",
        inflict: (node) => docker.getContainer(node.name).pause(),
        undo: (node) => docker.getContainer(node.name).unpause(),
    };
}

/** Stops the node's container as `docker stop` does with the program's stop timeout (a planned stop), then starts it. */
export function dockerStop(docker = new Docker()): Fault {
    return {
        how: "docker stop",
        inflict: async (node) => {
            await docker.getContainer(node.name).stop({ t: nodeStopSeconds });
        },
        undo: async (node) => {
            await docker.getContainer(node.name).start();
        },
    };
}

export function formatDrillReport(report: DrillReport): string {
    const timeline = formatTable(
        ["T+MS", "SENTINEL", "EVENT", "DETAIL"],
        report.timeline.map((e) => [String(e.atMs), e.sentinel, e.event, e.detail]),
    );
    return [
        `${report.how}: ${report.frozen} (${report.oldMaster}); new master ${report.newMaster}`,
        "",
        timeline,
        "",
        `failover (${report.how} -> every Sentinel names the new master): ${report.failoverMs} ms`,
        `client write outage (longest time between two confirmed writes): ${report.writeOutageMs} ms`,
        `recovery (undoing ${report.how} -> old master replicating with link up): ${report.recoveryMs} ms`,
        `writes confirmed: ${report.writesConfirmed}, failed during the outage: ${report.writesFailed}, confirmed but lost: ${report.writesLost}`,
    ].join("\n");
}

/**
 * Freezes every container of one host (`docker pause` through its engine's endpoint, from the stack's `hosts`
 * output), long enough for a failover when it holds the master and twice the Sentinels' detection time otherwise,
 * then thaws it and waits until the cluster is healthy (TILT included).
 */
export async function hostDrill(description: ClusterDescription, name: string, timeoutMs: number): Promise<HostFaultReport> {
    const host = description.hosts?.find((candidate) => candidate.name === name);
    if (!host) {
        const known = description.hosts?.map((candidate) => candidate.name).join(", ");
        throw new Error(
            known
                ? `--host ${name}: no such host; the cluster's hosts are ${known}`
                : `--host ${name}: the cluster runs on one host`,
        );
    }
    const master = await requireHealthy(description);
    const holdsMaster = hostOf(description, master) === name;
    return runHostFault(description, freezeHost(engineAt(host.docker)), {
        pickHost: () => name,
        expectFailover: holdsMaster,
        holdMs: holdsMaster ? 0 : 10_000,
        failoverBoundMs: timeoutMs,
        // A frozen Sentinel stays in TILT mode for 30 s after it thaws.
        healBoundMs: timeoutMs + 30_000,
    });
}

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            ...clusterOptions,
            timeout: { type: "string", default: "90" },
            json: { type: "boolean", default: false },
            stop: { type: "boolean", default: false },
            host: { type: "string" },
        },
    });
    const timeoutMs = secondsOption("timeout", values.timeout, "positive");
    const description = loadDescription(values);
    if (values.host !== undefined) {
        if (values.stop) {
            throw new Error("--host and --stop do not go together: --host freezes a whole host");
        }
        const report = await hostDrill(description, values.host, timeoutMs);
        console.log(values.json ? JSON.stringify(report, null, 2) : describeReport(`drill --host ${values.host}`, report));
        return report.lost === 0 ? 0 : 1;
    }
    const log = values.json ? () => undefined : (line: string) => console.log(`drill: ${line}`);
    const report = await runFailoverDrill(description, values.stop ? dockerStop() : dockerPause(), { timeoutMs, log });
    console.log(values.json ? JSON.stringify(report, null, 2) : `\n${formatDrillReport(report)}`);
    return report.writesLost === 0 ? 0 : 1;
}

if (require.main === module) {
    runTool("drill", main, (message) => (message.startsWith("refusing") ? 2 : 1));
}
