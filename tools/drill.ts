/**
 * npm run drill -- [--from FILE | --stack NAME] [--timeout SECONDS] [--json]
 *
 * The seed's failover test against a running cluster: a writer confirms each write with WAIT 1, the current master's
 * container is paused (`docker pause`), the Sentinels elect a new master, the old one is unpaused (always) and must
 * rejoin as a replica. Prints the Sentinel timeline, the write outage, the recovery time and any lost write.
 * Exit code: 0 passed, 1 a confirmed write was lost or a wait timed out, 2 cannot run (e.g. unhealthy cluster).
 */
import Docker from "dockerode";
import { parseArgs } from "util";
import { loadDescription } from "./lib/cluster";
import { DrillReport, Freezer, runFailoverDrill } from "./lib/failover";
import { formatTable } from "./lib/table";

/** Pauses the container whose name is the node's name, as `docker pause` does. */
function dockerFreezer(docker = new Docker()): Freezer {
    return {
        how: "docker pause",
        freeze: (node) => docker.getContainer(node.name).pause(),
        thaw: (node) => docker.getContainer(node.name).unpause(),
    };
}

export function formatDrillReport(report: DrillReport): string {
    const timeline = formatTable(
        ["T+MS", "SENTINEL", "EVENT", "DETAIL"],
        report.timeline.map((e) => [String(e.atMs), e.sentinel, e.event, e.detail]),
    );
    return [
        `froze ${report.frozen} (${report.oldMaster}); new master ${report.newMaster}`,
        "",
        timeline,
        "",
        `failover (freeze -> every Sentinel names the new master): ${report.failoverMs} ms`,
        `client write outage (longest time between two confirmed writes): ${report.writeOutageMs} ms`,
        `recovery (unpause -> old master replicating with link up): ${report.recoveryMs} ms`,
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
        },
    });
    const timeoutMs = Number(values.timeout) * 1000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
        throw new Error(`--timeout must be a positive number of seconds, got ${JSON.stringify(values.timeout)}`);
    }
    const description = loadDescription(values);
    const log = values.json ? () => undefined : (line: string) => console.log(`drill: ${line}`);
    const report = await runFailoverDrill(description, dockerFreezer(), { timeoutMs, log });
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
