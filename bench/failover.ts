/**
 * npm run bench:failover -- [--reps N] [--out DIR]
 *
 * Measures, on real redis-server/redis-sentinel processes (the integration suite's harness), the client-visible write
 * outage and the rejoin time of a failover for this program's Sentinel defaults, the seed's effective settings
 * (Redis's own defaults), the Bitnami chart's defaults, a larger topology, and this program's defaults with TLS on every
 * link (tlsEnabled), so that TLS's cost stands beside plain text in the same run. Then the same drill on the program's
 * cluster in containers on every tested engine (Debian's Redis 7.0 and 8.0, Valkey 8.1: test/docker/cluster.ts), the
 * master frozen with `docker pause`, so that the engines stand side by side. Writes a markdown report and an SVG chart
 * to DIR (default bench/results). Takes about 20 minutes: the slow configurations wait 30 s and 60 s per failover, and
 * each engine's cluster is built and deployed first. Needs Docker and root, as the end-to-end tests do.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { engineConfig, startCluster, testEngines, TestEngine } from "../test/docker/cluster";
import { removeLabelled } from "../test/docker/deployer";
import { startLocalCluster } from "../test/harness/localCluster";
import { loadSettings } from "../settings";
import { dockerPause } from "../tools/drill";
import { ClusterDescription } from "../tools/lib/cluster";
import { DrillReport, Fault, runFailoverDrill, waitHealthy } from "../tools/lib/failover";
import { assessUntilHealthy } from "../tools/lib/gate";
import { benchOptions, loadIndex } from "./options";
import { median, outageChart } from "./chart";

interface Configuration {
    readonly id: string;
    readonly label: string;
    readonly downAfterMilliseconds: number;
    readonly failoverTimeout: number;
    readonly redisNodes: number;
    readonly sentinels: number;
    readonly quorum: number;
    /** TLS on every link (tlsEnabled): the clients, replication and the Sentinels' links. */
    readonly tls?: boolean;
    /** The program's cluster in containers on this tested engine, instead of local processes. */
    readonly engine?: TestEngine;
}

/** The program's own defaults, read where the program reads them, so the benchmark follows any change. */
const program = loadSettings(() => undefined).topology;

const configurations: readonly Configuration[] = [
    {
        id: "program",
        label: `this program (${program.downAfterMilliseconds} / ${program.failoverTimeout})`,
        downAfterMilliseconds: program.downAfterMilliseconds,
        failoverTimeout: program.failoverTimeout,
        redisNodes: 3,
        sentinels: 3,
        quorum: program.quorum,
    },
    // The seed runs Redis's built-in Sentinel defaults.
    {
        id: "seed",
        label: "seed = Redis defaults (30000 / 180000)",
        downAfterMilliseconds: 30000,
        failoverTimeout: 180000,
        redisNodes: 3,
        sentinels: 3,
        quorum: 2,
    },
    // bitnami/redis chart values: sentinel.downAfterMilliseconds 60000, sentinel.failoverTimeout 180000.
    {
        id: "bitnami",
        label: "Bitnami chart (60000 / 180000)",
        downAfterMilliseconds: 60000,
        failoverTimeout: 180000,
        redisNodes: 3,
        sentinels: 3,
        quorum: 2,
    },
    {
        id: "large",
        label: "this program, 5 Sentinels + 4 replicas",
        downAfterMilliseconds: program.downAfterMilliseconds,
        failoverTimeout: program.failoverTimeout,
        redisNodes: 5,
        sentinels: 5,
        quorum: 3,
    },
    {
        id: "tls",
        label: `this program with TLS (${program.downAfterMilliseconds} / ${program.failoverTimeout})`,
        downAfterMilliseconds: program.downAfterMilliseconds,
        failoverTimeout: program.failoverTimeout,
        redisNodes: 3,
        sentinels: 3,
        quorum: program.quorum,
        tls: true,
    },
    // Every tested engine, in containers; the label gets the version the nodes report.
    ...(Object.keys(testEngines) as TestEngine[]).map((engine) => ({
        id: `engine-${engine}`,
        label: `containers: ${engine}`,
        downAfterMilliseconds: program.downAfterMilliseconds,
        failoverTimeout: program.failoverTimeout,
        redisNodes: 3,
        sentinels: 3,
        quorum: program.quorum,
        engine,
    })),
];

/** A cluster to drill: its description, how to freeze a node, and how to take it down. */
interface Drillable {
    readonly description: ClusterDescription;
    readonly freeze: Fault;
    /** The server and version the nodes report, as `npm run status` shows it ("valkey 8.1.1"). */
    readonly engine: string;
    stop(): Promise<unknown>;
}

async function startDrillable(config: Configuration): Promise<Drillable> {
    if (config.engine !== undefined) {
        const cluster = await startCluster(loadIndex, engineConfig(config.engine));
        const description = cluster.outputs as unknown as ClusterDescription;
        const assessment = await assessUntilHealthy(description, 60_000);
        return {
            description,
            freeze: dockerPause(cluster.docker),
            engine: assessment.nodes[0].version,
            stop: () => removeLabelled(cluster.docker),
        };
    }
    const cluster = await startLocalCluster({
        redisNodes: config.redisNodes,
        sentinels: config.sentinels,
        settings: {
            downAfterMilliseconds: String(config.downAfterMilliseconds),
            failoverTimeout: String(config.failoverTimeout),
            quorum: String(config.quorum),
        },
        readyTimeoutMs: 60_000,
        tls: config.tls ? {} : undefined,
    });
    return {
        description: cluster.description(),
        freeze: {
            how: "SIGSTOP",
            inflict: async (node) => cluster.freeze(node.name),
            undo: async (node) => cluster.thaw(node.name),
        },
        engine: `redis ${execFileSync("redis-server", ["--version"], { encoding: "utf8" }).split(" ")[2].slice(2)}`,
        stop: () => cluster.stop(),
    };
}

interface Measured {
    readonly engine: string;
    readonly reports: DrillReport[];
}

async function measure(config: Configuration, reps: number): Promise<Measured> {
    const cluster = await startDrillable(config);
    const reports: DrillReport[] = [];
    try {
        const timeoutMs = config.downAfterMilliseconds + 60_000;
        for (let rep = 1; rep <= reps; rep++) {
            await waitHealthy(cluster.description, 60_000);
            const report = await runFailoverDrill(cluster.description, cluster.freeze, { timeoutMs });
            console.log(
                `${config.id} (${cluster.engine}) #${rep}: failover ${report.failoverMs} ms, write outage ${report.writeOutageMs} ms, rejoin ${report.recoveryMs} ms, lost ${report.writesLost}`,
            );
            reports.push(report);
        }
    } finally {
        await cluster.stop();
    }
    return { engine: cluster.engine, reports };
}

/** The row label: the configuration's, and for a container cluster the engine its nodes reported. */
const labelOf = (config: Configuration, measured: Measured) =>
    config.engine === undefined
        ? config.label
        : `${measured.engine} in containers (${config.downAfterMilliseconds} / ${config.failoverTimeout})`;

function markdownReport(commandLine: string, reps: number, results: Map<Configuration, Measured>): string {
    const baseline = median(results.get(configurations[0])!.reports.map((r) => r.writeOutageMs));
    const seconds = (ms: number) => (ms / 1000).toFixed(2);
    const rows = [...results].map(([config, measured]) => {
        const { reports } = measured;
        const outage = median(reports.map((r) => r.writeOutageMs));
        return `| ${labelOf(config, measured)} | ${config.redisNodes - 1} + ${config.sentinels} (q ${config.quorum}) | ${seconds(median(reports.map((r) => r.failoverMs)))} | ${seconds(outage)} | ${(outage / baseline).toFixed(1)}x | ${seconds(median(reports.map((r) => r.recoveryMs)))} | ${reports.reduce((sum, r) => sum + r.writesLost, 0)} |`;
    });
    const local = results.get(configurations[0])!.engine;
    return [
        "# Failover benchmark",
        "",
        `Command: \`${commandLine}\``,
        "",
        `Run on ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores. The first rows: real ${local} processes on loopback, the master frozen with SIGSTOP (as \`docker pause\`). The rows "in containers": the program's cluster as the end-to-end tests deploy it (redisnet, the image built from image/, the rendered config), on each tested engine, the master's container frozen with \`docker pause\`. ${reps} repetitions per configuration, medians shown.`,
        "A writer (ioredis in Sentinel mode, the settings the README documents) confirms every write with `WAIT 1`; with TLS, over TLS to the Sentinels and the master.",
        "",
        "| configuration (down-after / failover-timeout ms) | replicas + Sentinels | failover (s) | client write outage (s) | outage vs this program | rejoin after unfreeze (s) | confirmed writes lost |",
        "|---|---|---|---|---|---|---|",
        ...rows,
        "",
        "- failover: freeze until every Sentinel names the new master.",
        "- client write outage: the longest time between two consecutive confirmed writes.",
        "- rejoin: unfreeze until the old master is a replica of the new master with its link up.",
        "",
        "![write outage per configuration](failover-outage.svg)",
        "",
    ].join("\n");
}

async function main(): Promise<void> {
    const { reps, out } = benchOptions(3, 20);
    const results = new Map<Configuration, Measured>();
    for (const config of configurations) {
        results.set(config, await measure(config, reps));
    }
    const commandLine = `npm run bench:failover -- --reps ${reps}`;
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, "failover.md"), markdownReport(commandLine, reps, results));
    fs.writeFileSync(
        path.join(out, "failover-outage.svg"),
        outageChart(
            "Client write outage during a failover (s)",
            [...results].map(([config, measured]) => ({
                label: labelOf(config, measured),
                values: measured.reports.map((r) => r.writeOutageMs),
            })),
        ),
    );
    console.log(`wrote ${path.join(out, "failover.md")} and failover-outage.svg`);
}

main().then(
    () => process.exit(0),
    (error) => {
        console.error(`bench: ${(error as Error).message}`);
        process.exit(1);
    },
);
