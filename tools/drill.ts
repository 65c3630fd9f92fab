/**
 * npm run drill -- [--from FILE | --stack NAME] [--stop] [--timeout SECONDS] [--json]
 *
 * The seed's failover test against a running cluster: a writer confirms each write with WAIT 1, the current master's
 * container is paused (`docker pause`), the Sentinels elect a new master, the old one is unpaused (always) and must
 * rejoin as a replica. With --stop, a planned stop instead: `docker stop` (the master hands its role over before it
 * exits), then `docker start`. Prints the Sentinel timeline, the write outage, the recovery time and any lost write.
 * Exit code: 0 passed, 1 a confirmed write was lost or a wait timed out, 2 cannot run (e.g. unhealthy cluster).
 */
import Docker from "dockerode";
import { parseArgs } from "util";
import { nodeStopSeconds } from "../components/nodeContainer";
import { loadDescription } from "./lib/cluster";
import { DrillReport, Fault, runFailoverDrill } from "./lib/failover";
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

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            from: { type: "string" },
            stack: { type: "string" },
            timeout: { type: "string", default: "90" },
            json: { type: "boolean", default: false },
            stop: { type: "boolean", default: false },
        },
    });
    const timeoutMs = Number(values.timeout) * 1000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
        throw new Error(`--timeout must be a positive number of seconds, got ${JSON.stringify(values.timeout)}`);
    }
    const description = loadDescription(values);
    const log = values.json ? () => undefined : (line: string) => console.log(`drill: ${line}`);
    const report = await runFailoverDrill(description, values.stop ? dockerStop() : dockerPause(), { timeoutMs, log });
    console.log(values.json ? JSON.stringify(report, null, 2) : `\n${formatDrillReport(report)}`);
    return report.writesLost === 0 ? 0 : 1;
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (error) => {
            const text = (error as Error).message;
            console.error(`drill: ${text}`);
            process.exit(text.startsWith("refusing") ? 2 : 1);
        },
    );
}
