/**
 * npm run bench:hosts -- [--reps N] [--out DIR]
 *
 * One host beside three, in one run: the program's cluster on the local Docker engine (every node on redisnet), then
 * across the lab (three real Docker engines, each in a network namespace of its own: test/lab/lab.ts), each with a
 * writer confirming every write with WAIT 1. On each, N crashes of the master (`docker pause` of its container); on
 * the lab also N freezes of the master's whole host (every container on it paused, its Sentinel too). Then the
 * network path itself: PING round trips from a client to a Redis server in host networking (what the program uses
 * across hosts) beside one behind a published port of a per-host bridge (the alternative). Writes DIR/hosts.md
 * (default bench/results), and removes both clusters and the lab. Needs Docker and root, as the end-to-end tests do.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";
import Redis from "ioredis";
import { startCluster } from "../test/docker/cluster";
import { removeLabelled } from "../test/docker/deployer";
import { startLabCluster } from "../test/lab/cluster";
import { Lab } from "../test/lab/lab";
import { ClusterDescription } from "../tools/lib/cluster";
import { DrillReport, runFailoverDrill, waitHealthy } from "../tools/lib/failover";
import { freezeHost, hostOf, HostFaultReport, runHostFault } from "../tools/lib/hostFault";
import { pollUntil } from "../tools/lib/poll";
import { median } from "./chart";
import { benchOptions, loadIndex } from "./options";

/** One row of figures: failover (fault to every answering Sentinel naming the new master) and the client's write gap. */
interface Row {
    readonly where: string;
    readonly fault: string;
    readonly failoverMs: number[];
    readonly gapMs: number[];
    readonly lost: number;
}

/** A row from each fault's failover time, write gap and lost writes. */
const rowOf = (where: string, fault: string, runs: readonly { failoverMs: number; gapMs: number; lost: number }[]): Row => ({
    where,
    fault,
    failoverMs: runs.map((run) => run.failoverMs),
    gapMs: runs.map((run) => run.gapMs),
    lost: runs.reduce((sum, run) => sum + run.lost, 0),
});

const fromDrills = (where: string, fault: string, reports: readonly DrillReport[]): Row =>
    rowOf(
        where,
        fault,
        reports.map((r) => ({ failoverMs: r.failoverMs, gapMs: r.writeOutageMs, lost: r.writesLost })),
    );

const fromHostFaults = (where: string, fault: string, reports: readonly HostFaultReport[]): Row =>
    rowOf(
        where,
        fault,
        reports.map((r) => ({ failoverMs: r.failoverMs, gapMs: r.writeGapMs, lost: r.lost })),
    );

/** N crashes of the master container, through `engineOf` the master's engine. */
async function pauseDrills(description: ClusterDescription, engineOf: (node: string) => Docker, reps: number, label: string) {
    const reports: DrillReport[] = [];
    for (let rep = 1; rep <= reps; rep++) {
        await waitHealthy(description, 90_000);
        const fault = {
            how: "docker pause",
            inflict: (node: { name: string }) => engineOf(node.name).getContainer(node.name).pause(),
            undo: (node: { name: string }) => engineOf(node.name).getContainer(node.name).unpause(),
        };
        const report = await runFailoverDrill(description, fault, { timeoutMs: 60_000 });
        console.log(
            `${label} pause #${rep}: failover ${report.failoverMs} ms, gap ${report.writeOutageMs} ms, lost ${report.writesLost}`,
        );
        reports.push(report);
    }
    return reports;
}

/** PING round trips (ms) from this process to a server, `count` sequential ones after a warm-up. */
async function pingTimes(host: string, port: number, count: number): Promise<number[]> {
    const client = new Redis({
        host,
        port,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        connectTimeout: 2000,
        commandTimeout: 2000,
    });
    client.on("error", () => undefined);
    try {
        await client.connect();
        for (let i = 0; i < 200; i++) {
            await client.ping();
        }
        const times: number[] = [];
        for (let i = 0; i < count; i++) {
            const started = process.hrtime.bigint();
            await client.ping();
            times.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
        return times;
    } finally {
        client.disconnect();
    }
}

const percentile = (values: readonly number[], p: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

/**
 * The network path alone, on one lab host: a throwaway redis-server (the program's image, no config) in host
 * networking on port 7000, and one on the engine's default bridge behind a published port (7001 -> 6379), each
 * asked 5000 PINGs from outside the host.
 */
async function networkPaths(lab: Lab, imageId: string): Promise<{ mode: string; times: number[] }[]> {
    const host = lab.hosts[0];
    const servers = [
        { mode: "host networking", name: "bench-hostnet", port: 7000, config: { NetworkMode: "host" }, serverPort: 7000 },
        {
            mode: "bridge + published port",
            name: "bench-published",
            port: 7001,
            config: { NetworkMode: "bridge", PortBindings: { "6379/tcp": [{ HostIp: host.address, HostPort: "7001" }] } },
            serverPort: 6379,
        },
    ];
    const results: { mode: string; times: number[] }[] = [];
    for (const server of servers) {
        const container = await host.docker.createContainer({
            name: server.name,
            Image: imageId,
            Entrypoint: ["redis-server", "--port", String(server.serverPort), "--protected-mode", "no", "--save", ""],
            ExposedPorts: { "6379/tcp": {} },
            HostConfig: server.config,
        });
        await container.start();
        try {
            await pollUntil(`${server.name} to answer`, () => pingTimes(host.address, server.port, 1).then(() => true), {
                timeoutMs: 20_000,
                intervalMs: 200,
            });
            results.push({ mode: server.mode, times: await pingTimes(host.address, server.port, 5000) });
        } finally {
            await container.remove({ force: true });
        }
    }
    return results;
}

function report(reps: number, rows: readonly Row[], paths: readonly { mode: string; times: number[] }[]): string {
    const seconds = (values: number[]) => `${(median(values) / 1000).toFixed(2)} / ${(Math.max(...values) / 1000).toFixed(2)}`;
    const version = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" }).trim();
    const [single, multi] = [rows[0], rows[1]];
    const ratio = (pick: (row: Row) => number[]) => (median(pick(multi)) / median(pick(single))).toFixed(2);
    return [
        "# One host beside three",
        "",
        `Command: \`npm run bench:hosts -- --reps ${reps}\``,
        "",
        `Run on ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, Docker ${version}; the program's containers (the end-to-end`,
        "image: Debian's Redis 7.0), default settings (`downAfterMilliseconds` 5000). One host: every node on `redisnet`",
        "of the local engine. Three hosts: the lab, three real Docker engines each in a network namespace of its own with",
        "its own address on a bridge, one Redis node and one Sentinel on each, host networking (`dockerHosts`). A writer",
        "(ioredis in Sentinel mode, the documented settings, from outside the hosts) confirms every write with `WAIT 1`.",
        `${reps} faults each, median / maximum shown.`,
        "",
        "| cluster | fault | failover (s) | client write gap (s) | confirmed writes lost |",
        "|---|---|---|---|---|",
        ...rows.map(
            (row) => `| ${row.where} | ${row.fault} | ${seconds(row.failoverMs)} | ${seconds(row.gapMs)} | ${row.lost} |`,
        ),
        "",
        `Three hosts against one, the same fault (the master's container paused): failover ${ratio((row) => row.failoverMs)}x,`,
        `write gap ${ratio((row) => row.gapMs)}x (medians).`,
        "",
        "- failover: the fault until every Sentinel that can answer names the new master (with the host frozen, the",
        "  Sentinels of the two other hosts).",
        "- client write gap: the longest time between two consecutive confirmed writes.",
        "- A frozen host's Sentinel enters TILT mode when it thaws; each host freeze waits until it has left it.",
        "",
        "## The network path: host networking beside a published port",
        "",
        "5000 sequential PINGs from outside the host to a redis-server on one lab host, after 200 to warm up:",
        "",
        "| path | p50 (ms) | p99 (ms) | max (ms) |",
        "|---|---|---|---|",
        ...paths.map(
            (p) =>
                `| ${p.mode} | ${percentile(p.times, 50).toFixed(3)} | ${percentile(p.times, 99).toFixed(3)} | ${Math.max(...p.times).toFixed(3)} |`,
        ),
        "",
    ].join("\n");
}

async function main(): Promise<void> {
    const { reps, out } = benchOptions(5, 20);
    const rows: Row[] = [];

    const single = await startCluster(loadIndex);
    try {
        const reports = await pauseDrills(single.outputs, () => single.docker, reps, "one host");
        rows.push(fromDrills("one host", "master paused (`docker pause`)", reports));
    } finally {
        await removeLabelled(single.docker);
    }

    const lab = await startLabCluster(loadIndex, ["dc1", "dc2", "dc3"]);
    let paths: { mode: string; times: number[] }[];
    try {
        const description = lab.outputs as unknown as ClusterDescription;
        const engineOf = (node: string) => {
            const placed = [...description.redisNodes, ...description.sentinelNodes].find((n) => n.name === node)!;
            return lab.lab.host(hostOf(description, `${placed.ip}:${placed.port}`)).docker;
        };
        rows.push(
            fromDrills(
                "three hosts",
                "master paused (`docker pause`)",
                await pauseDrills(description, engineOf, reps, "three hosts"),
            ),
        );
        const frozen: HostFaultReport[] = [];
        for (let rep = 1; rep <= reps; rep++) {
            const master = await waitHealthy(description, 90_000);
            const host = hostOf(description, master);
            const result = await runHostFault(description, freezeHost(lab.lab.host(host).docker), {
                pickHost: () => host,
                expectFailover: true,
                failoverBoundMs: 60_000,
                healBoundMs: 120_000,
            });
            console.log(
                `three hosts, host frozen #${rep}: failover ${result.failoverMs} ms, gap ${result.writeGapMs} ms, lost ${result.lost}`,
            );
            frozen.push(result);
        }
        rows.push(fromHostFaults("three hosts", "the master's whole host frozen", frozen));
        paths = await networkPaths(lab.lab, lab.imageId);
    } finally {
        await lab.stop();
    }
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, "hosts.md"), report(reps, rows, paths));
    console.log(`wrote ${path.join(out, "hosts.md")}`);
}

main().then(
    () => process.exit(0),
    (error) => {
        console.error(`bench: ${(error as Error).message}`);
        process.exit(1);
    },
);
