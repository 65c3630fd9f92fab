/**
 * npm run bench:stop -- [--reps N] [--out DIR]
 *
 * A crash beside a planned stop, in containers: deploys the program's cluster on the local Docker engine (as
 * `npm run e2e:up` does), then runs the failover drill N times with the master frozen (`docker pause`: what the
 * Sentinels see of a crash) and N times with the master stopped (`docker stop`: it hands its role over first). Then
 * the same again on a cluster deployed with TLS on every link (tlsEnabled), so that the two stand side by side.
 * Writes DIR/planned-stop.md (default bench/results) with the median and the maximum of each figure, and removes the
 * clusters. Needs Docker and root for the first base image, as the end-to-end tests do.
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

interface Row {
    readonly links: "plain text" | "TLS";
    readonly reports: readonly DrillReport[];
}

function report(reps: number, rows: readonly Row[]): string {
    const seconds = (values: number[]) => `${(median(values) / 1000).toFixed(2)} / ${(Math.max(...values) / 1000).toFixed(2)}`;
    const version = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" }).trim();
    return [
        "# A crash beside a planned stop, in containers",
        "",
        `Command: \`npm run bench:stop -- --reps ${reps}\``,
        "",
        `Run on ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, Docker ${version}; the program's containers (the end-to-end`,
        `image: Debian's Redis 7.0), ${reps} drills each, median / maximum shown. A writer (ioredis in Sentinel mode, the settings`,
        "the README documents) confirms every write with `WAIT 1`. The TLS rows are a second cluster, deployed with",
        "`tlsEnabled`, in the same run; there the writer, the Sentinels, replication and the entrypoint's handover speak TLS.",
        "",
        "| links | the master is | failover (s) | client write gap (s) | rejoin (s) | confirmed writes lost |",
        "|---|---|---|---|---|---|",
        ...rows.map(
            ({ links, reports }) =>
                `| ${links} | ${reports[0].how === "docker stop" ? "stopped (`docker stop`): it hands over first" : "frozen (`docker pause`): a crash"} | ${seconds(reports.map((r) => r.failoverMs))} | ${seconds(reports.map((r) => r.writeOutageMs))} | ${seconds(reports.map((r) => r.recoveryMs))} | ${reports.reduce((sum, r) => sum + r.writesLost, 0)} |`,
        ),
        "",
        "- failover: the fault until every Sentinel names the new master. A stop includes the wait until every Sentinel has",
        "  read the replicas' roles (up to 10 s after a replica restarted), which happens before writes are paused.",
        "- client write gap: the longest time between two consecutive confirmed writes.",
        "- rejoin: unpause, or `docker start`, until the old master is a replica of the new one with its link up.",
        "",
    ].join("\n");
}

/** Deploys the cluster with `config` on top of the end-to-end stack, runs both kinds of drill on it, and removes it. */
async function measure(config: Readonly<Record<string, string>>, reps: number): Promise<DrillReport[][]> {
    const cluster = await startCluster(() => {
        // index.ts must run afresh for each cluster, after the mocks are set: not from the module cache.
        delete require.cache[require.resolve("../index")];
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require("../index");
    }, config);
    try {
        const description = cluster.outputs;
        return [
            await drills(description, dockerPause(cluster.docker), reps),
            await drills(description, dockerStop(cluster.docker), reps),
        ];
    } finally {
        await removeLabelled(cluster.docker);
    }
}

async function main(): Promise<void> {
    const { reps, out } = benchOptions(5, 30);
    const rows: Row[] = [
        ...(await measure({}, reps)).map((reports) => ({ links: "plain text" as const, reports })),
        ...(await measure({ tlsEnabled: "true" }, reps)).map((reports) => ({ links: "TLS" as const, reports })),
    ];
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, "planned-stop.md"), report(reps, rows));
    console.log(`wrote ${path.join(out, "planned-stop.md")}`);
}

main().then(
    () => process.exit(0),
    (error) => {
        console.error(`bench: ${(error as Error).message}`);
        process.exit(1);
    },
);
