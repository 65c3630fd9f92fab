/**
 * npm run bench:stop -- [--reps N] [--out DIR]
 *
 * A crash beside a planned stop, in containers: deploys the program's cluster on the local Docker engine (as
 * `npm run e2e:up` does), then runs the failover drill N times with the master frozen (`docker pause`: what the
 * Sentinels see of a crash) and N times with the master stopped (`docker stop`: it hands its role over first).
 * Writes DIR/planned-stop.md (default bench/results) with the median and the maximum of each figure, and removes the
 * cluster. Needs Docker and root for the first base image, as the end-to-end tests do.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startCluster } from "../test/docker/cluster";
import { removeLabelled } from "../test/docker/deployer";
import { dockerPause, dockerStop } from "../tools/drill";
import { ClusterDescription } from "../tools/lib/cluster";
import { DrillReport, Fault, runFailoverDrill, waitHealthy } from "../tools/lib/failover";
import { benchOptions } from "./options";
import { median } from "./chart";

async function drills(description: ClusterDescription, fault: Fault, reps: number): Promise<DrillReport[]> {
    const reports: DrillReport[] = [];
    for (let rep = 1; rep <= reps; rep++) {
        await waitHealthy(description, 60_000);
        const report = await runFailoverDrill(description, fault, { timeoutMs: 60_000 });
        console.log(
            `${fault.how} #${rep}: failover ${report.failoverMs} ms, write gap ${report.writeOutageMs} ms, rejoin ${report.recoveryMs} ms, lost ${report.writesLost}`,
        );
        reports.push(report);
    }
    return reports;
}

function report(reps: number, results: readonly DrillReport[][]): string {
    const seconds = (values: number[]) => `${(median(values) / 1000).toFixed(2)} / ${(Math.max(...values) / 1000).toFixed(2)}`;
    const version = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" }).trim();
    return [
        "# A crash beside a planned stop, in containers",
        "",
        `Command: \`npm run bench:stop -- --reps ${reps}\``,
        "",
        `Run on ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, Docker ${version}; the program's containers (the end-to-end`,
        `image: Debian's Redis 7.0), ${reps} drills each, median / maximum shown. A writer (ioredis in Sentinel mode, the settings`,
        "the README documents) confirms every write with `WAIT 1`.",
        "",
        "| the master is | failover (s) | client write gap (s) | rejoin (s) | confirmed writes lost |",
        "|---|---|---|---|---|",
        ...results.map(
            (reports) =>
                `| ${reports[0].how === "docker stop" ? "stopped (`docker stop`): it hands over first" : "frozen (`docker pause`): a crash"} | ${seconds(reports.map((r) => r.failoverMs))} | ${seconds(reports.map((r) => r.writeOutageMs))} | ${seconds(reports.map((r) => r.recoveryMs))} | ${reports.reduce((sum, r) => sum + r.writesLost, 0)} |`,
        ),
        "",
        "- failover: the fault until every Sentinel names the new master. A stop includes the wait until every Sentinel has",
        "  read the replicas' roles (up to 10 s after a replica restarted), which happens before writes are paused.",
        "- client write gap: the longest time between two consecutive confirmed writes.",
        "- rejoin: unpause, or `docker start`, until the old master is a replica of the new one with its link up.",
        "",
    ].join("\n");
}

async function main(): Promise<void> {
    const { reps, out } = benchOptions(5, 30);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- index.ts must load after the mocks are set
    const cluster = await startCluster(() => require("../index"));
    try {
        const description = cluster.outputs;
        const results = [
            await drills(description, dockerPause(cluster.docker), reps),
            await drills(description, dockerStop(cluster.docker), reps),
        ];
        fs.mkdirSync(out, { recursive: true });
        fs.writeFileSync(path.join(out, "planned-stop.md"), report(reps, results));
        console.log(`wrote ${path.join(out, "planned-stop.md")}`);
    } finally {
        await removeLabelled(cluster.docker);
    }
}

main().then(
    () => process.exit(0),
    (error) => {
        console.error(`bench: ${(error as Error).message}`);
        process.exit(1);
    },
);
