/**
 * npm run bench:waterfall -- [--reps 10] [--down-after 2000] [--ping-periods 1000,400] [--engine redis7] [--out DIR]
 *                            [--node-redis-scan-ms 1000]
 *
 * Where each second of an unplanned failover goes. On the program's cluster in containers (the e2e cluster), for each
 * `down-after-milliseconds` given and each Sentinel ping period (set on the running Sentinels with SENTINEL DEBUG
 * ping-period: 1000 is Sentinel's own, the program's is image/entrypoint.sh's), the master is killed (`docker kill`, SIGKILL) `--reps` times and frozen
 * (`docker pause`) `--reps` times while the documented clients (ioredis and node-redis 6, tools/lib/clients.ts) each
 * confirm every write with WAIT 1. Each step is timed from the fault: the first +sdown of the master, +odown, the
 * leader's +elected-leader, +selected-slave, +promoted-slave, the first and the last Sentinel's +switch-master,
 * +failover-end, and each client's first confirmed write. Writes waterfall.md and waterfall.svg to DIR (default
 * bench/results). Needs Docker and root, as the end-to-end tests do.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import Docker from "dockerode";
import { engineConfig, startCluster } from "../test/docker/cluster";
import { removeLabelled } from "../test/docker/deployer";
import { startWriter } from "../test/harness/observers";
import { loadSettings } from "../settings";
import { dockerPause } from "../tools/drill";
import { nodeRedisClient } from "../tools/lib/clients";
import { ClusterDescription, loginAs } from "../tools/lib/cluster";
import { withConnection } from "../tools/lib/observe";
import { DrillReport, Fault, inFlightMs, longestGap, runFailoverDrill, TimelineEvent, waitHealthy } from "../tools/lib/failover";
import { median, waterfallChart } from "./chart";
import { loadIndex } from "./options";

const program = loadSettings(() => undefined).topology;

function waterfallOptions() {
    const { values } = parseArgs({
        options: {
            reps: { type: "string", default: "10" },
            "down-after": { type: "string", default: String(program.downAfterMilliseconds) },
            "ping-periods": { type: "string", default: "1000,400" },
            engine: { type: "string", default: "redis7" },
            out: { type: "string", default: "bench/results" },
            // node-redis's scanInterval; the documented one (tools/lib/clients.ts) unless given.
            "node-redis-scan-ms": { type: "string" },
        },
    });
    const scanText = values["node-redis-scan-ms"];
    const nodeRedisScanMs = scanText === undefined ? undefined : Number(scanText);
    if (
        nodeRedisScanMs !== undefined &&
        (!Number.isInteger(nodeRedisScanMs) || nodeRedisScanMs < 100 || nodeRedisScanMs > 10_000)
    ) {
        throw new Error(`--node-redis-scan-ms must be an integer from 100 to 10000, got ${JSON.stringify(scanText)}`);
    }
    const reps = Number(values.reps);
    if (!Number.isInteger(reps) || reps < 1 || reps > 50) {
        throw new Error(`--reps must be an integer from 1 to 50, got ${JSON.stringify(values.reps)}`);
    }
    const downAfters = values["down-after"]!.split(",").map((text) => {
        const ms = Number(text.trim());
        if (!Number.isInteger(ms) || ms <= program.minReplicasMaxLag * 1000 || ms > 60_000) {
            throw new Error(
                `--down-after takes integers above ${program.minReplicasMaxLag * 1000} (minReplicasMaxLag) and at most 60000, got ${JSON.stringify(text)}`,
            );
        }
        return ms;
    });
    const pingPeriods = values["ping-periods"]!.split(",").map((text) => {
        const ms = Number(text.trim());
        if (!Number.isInteger(ms) || ms < 100 || ms > 1000) {
            throw new Error(`--ping-periods takes integers from 100 to 1000, got ${JSON.stringify(text)}`);
        }
        return ms;
    });
    return {
        reps,
        downAfters,
        pingPeriods,
        nodeRedisScanMs,
        engine: values.engine!,
        config: engineConfig(values.engine!),
        out: values.out!,
    };
}

/** Kills the node's container (SIGKILL: a crash, the OOM killer), then starts it again. */
function dockerKill(docker: Docker): Fault {
    return {
        how: "docker kill",
        inflict: (node) => docker.getContainer(node.name).kill(),
        undo: (node) => docker.getContainer(node.name).start(),
    };
}

/** A step of the waterfall: when it happened in one drill (ms from the fault), or undefined if it did not. */
interface Step {
    readonly label: string;
    at(drill: Drill): number | undefined;
}

interface Drill {
    readonly report: DrillReport;
    /** node-redis: the fault until its first confirmed write, and its longest gap. */
    readonly nodeRedisFirstMs: number;
    readonly nodeRedisOutageMs: number;
}

const first = (timeline: readonly TimelineEvent[], test: (event: TimelineEvent) => boolean) =>
    timeline.find((event) => event.atMs >= 0 && test(event))?.atMs;

const steps: readonly Step[] = [
    {
        label: "first +sdown of the master",
        at: (d) => first(d.report.timeline, (e) => e.event === "+sdown" && e.detail.startsWith("master ")),
    },
    { label: "+odown", at: (d) => first(d.report.timeline, (e) => e.event === "+odown") },
    { label: "+elected-leader", at: (d) => first(d.report.timeline, (e) => e.event === "+elected-leader") },
    { label: "+selected-slave", at: (d) => first(d.report.timeline, (e) => e.event === "+selected-slave") },
    { label: "+promoted-slave", at: (d) => first(d.report.timeline, (e) => e.event === "+promoted-slave") },
    { label: "first +switch-master", at: (d) => first(d.report.timeline, (e) => e.event === "+switch-master") },
    { label: "+failover-end", at: (d) => first(d.report.timeline, (e) => e.event === "+failover-end") },
    {
        label: "last Sentinel's +switch-master",
        at: (d) => {
            const sentinels = new Set(d.report.timeline.map((e) => e.sentinel));
            const times = [...sentinels].map((s) =>
                first(d.report.timeline, (e) => e.sentinel === s && e.event === "+switch-master"),
            );
            return times.some((t) => t === undefined) ? undefined : Math.max(...(times as number[]));
        },
    },
    { label: "ioredis: first confirmed write", at: (d) => d.report.firstWriteMs },
    { label: "node-redis: first confirmed write", at: (d) => d.nodeRedisFirstMs },
];

async function drillOnce(
    description: ClusterDescription,
    fault: Fault,
    timeoutMs: number,
    nodeRedisScanMs: number | undefined,
): Promise<Drill> {
    const client = nodeRedisClient(description, nodeRedisScanMs);
    await client.connect();
    // SET, then WAIT on the same connection (node-redis keeps one connection to the master: masterPoolSize 1), each
    // with the documented command timeout. Not client.use(): a leased connection has no command timeout, and a write
    // to a killed master's address would wait for TCP to give up.
    const writer = startWriter(
        "node-redis",
        async (n) => {
            await client.set(`waterfall:node-redis:${n}`, "1");
            return Number(await client.sendCommand(false, ["WAIT", "1", "1000"])) >= 1;
        },
        { maxDurationMs: 4 * timeoutMs },
    );
    try {
        const report = await runFailoverDrill(description, fault, { timeoutMs });
        // None after the writes in flight at the fault: node-redis did not write again before the drill ended (NaN).
        const after = writer.successes.find((at) => at > report.faultAt + inFlightMs);
        return {
            report,
            nodeRedisFirstMs: after === undefined ? Number.NaN : after - report.faultAt,
            nodeRedisOutageMs: after === undefined ? Number.NaN : longestGap(writer.successes.map((at) => ({ at }))),
        };
    } finally {
        await writer.stop();
        await client.destroy().catch(() => undefined);
    }
}

interface Series {
    readonly downAfter: number;
    readonly pingPeriod: number;
    readonly fault: string;
    readonly drills: Drill[];
}

async function measure(downAfter: number, options: ReturnType<typeof waterfallOptions>): Promise<Series[]> {
    const cluster = await startCluster(loadIndex, { ...options.config, downAfterMilliseconds: String(downAfter) });
    const description = cluster.outputs as unknown as ClusterDescription;
    const series: Series[] = [];
    try {
        for (const pingPeriod of options.pingPeriods) {
            for (const sentinel of description.sentinelNodes) {
                await withConnection(sentinel, loginAs(description, "admin"), (client) =>
                    client.call("SENTINEL", "DEBUG", "ping-period", String(pingPeriod)),
                );
            }
            for (const fault of [dockerKill(cluster.docker), dockerPause(cluster.docker)]) {
                const drills: Drill[] = [];
                for (let rep = 1; rep <= options.reps; rep++) {
                    await waitHealthy(description, 120_000);
                    const drill = await drillOnce(description, fault, downAfter + 60_000, options.nodeRedisScanMs);
                    const { report } = drill;
                    console.log(
                        `down-after ${downAfter}, ping ${pingPeriod}, ${fault.how} #${rep}: failover ${report.failoverMs} ms; outage ioredis ${report.writeOutageMs} ms, node-redis ${drill.nodeRedisOutageMs} ms; ${steps.map((s) => `${s.label} ${s.at(drill) ?? "-"}`).join(", ")}; lost ${report.writesLost}`,
                    );
                    drills.push(drill);
                }
                series.push({ downAfter, pingPeriod, fault: fault.how, drills });
            }
        }
    } finally {
        await removeLabelled(cluster.docker);
    }
    return series;
}

const seconds = (ms: number) => (Number.isNaN(ms) ? "-" : (ms / 1000).toFixed(2));
const present = (values: (number | undefined)[]) => values.filter((v): v is number => v !== undefined && !Number.isNaN(v));

function markdownReport(
    commandLine: string,
    engine: string,
    nodeRedisScanMs: number | undefined,
    all: readonly Series[],
): string {
    const summary = all.map((s) => {
        const failover = s.drills.map((d) => d.report.failoverMs);
        const io = s.drills.map((d) => d.report.writeOutageMs);
        const nr = present(s.drills.map((d) => d.nodeRedisOutageMs));
        const stuck = s.drills.length - nr.length;
        const lost = s.drills.reduce((sum, d) => sum + d.report.writesLost, 0);
        return `| ${s.downAfter} | ${s.pingPeriod} | ${s.fault} | ${s.drills.length} | ${seconds(median(failover))} (${seconds(Math.max(...failover))}) | ${seconds(median(io))} (${seconds(Math.max(...io))}) | ${seconds(median(nr))} (${seconds(Math.max(...nr))})${stuck ? `; did not write again in ${stuck}` : ""} | ${lost} |`;
    });
    const stepTables = all.flatMap((s) => [
        "",
        `### down-after ${s.downAfter} ms, ping period ${s.pingPeriod} ms, ${s.fault}`,
        "",
        "| step | median (s) | min | max | step's own median (s) |",
        "|---|---|---|---|---|",
        ...steps.map((step, i) => {
            const values = present(s.drills.map((d) => step.at(d)));
            const previous = i === 0 ? [] : present(s.drills.map((d) => steps[i - 1].at(d)));
            const own = i === 0 || previous.length === 0 ? median(values) : median(values) - median(previous);
            return values.length === 0
                ? `| ${step.label} | - | - | - | - |`
                : `| ${step.label} | ${seconds(median(values))} | ${seconds(Math.min(...values))} | ${seconds(Math.max(...values))} | ${seconds(own)} |`;
        }),
    ]);
    return [
        "# Where each second of a failover goes",
        "",
        `Command: \`${commandLine}\``,
        "",
        `Run on ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, ${engine}: the program's cluster in containers (the e2e cluster: 1 master, 2 replicas, 3 Sentinels, quorum ${program.quorum}, failover-timeout ${program.failoverTimeout} ms). The master is killed (\`docker kill\`) or frozen (\`docker pause\`); ioredis 6 and node-redis 6 with the documented settings (tools/lib/clients.ts${nodeRedisScanMs === undefined ? "" : `; node-redis with scanInterval ${nodeRedisScanMs} ms instead`}) write side by side and confirm every write with \`WAIT 1\`. Times from the fault; the Sentinels' events as they arrived at a subscriber.`,
        "",
        "| down-after (ms) | Sentinel ping period (ms) | fault | drills | Sentinel failover: median (max) s | ioredis write outage: median (max) s | node-redis write outage: median (max) s | confirmed writes lost |",
        "|---|---|---|---|---|---|---|---|",
        ...summary,
        "",
        "- Sentinel failover: the fault until every Sentinel names the new master (polled every 50 ms).",
        '- write outage: the longest time between two consecutive confirmed writes of that client; "did not write again": drills in which node-redis had no confirmed write from the fault until the old master had rejoined (left out of its median).',
        "",
        "![waterfall](waterfall.svg)",
        "",
        "## Each step, from the fault",
        ...stepTables,
        "",
    ].join("\n");
}

async function main(): Promise<void> {
    const options = waterfallOptions();
    const all: Series[] = [];
    for (const downAfter of options.downAfters) {
        all.push(...(await measure(downAfter, options)));
    }
    const commandLine = `npm run bench:waterfall -- --reps ${options.reps} --down-after ${options.downAfters.join(",")} --ping-periods ${options.pingPeriods.join(",")} --engine ${options.engine}${options.nodeRedisScanMs === undefined ? "" : ` --node-redis-scan-ms ${options.nodeRedisScanMs}`}`;
    fs.mkdirSync(options.out, { recursive: true });
    fs.writeFileSync(
        path.join(options.out, "waterfall.md"),
        markdownReport(commandLine, options.engine, options.nodeRedisScanMs, all),
    );
    fs.writeFileSync(
        path.join(options.out, "waterfall.svg"),
        waterfallChart(
            "Where a failover's seconds go (median from the fault; whiskers: min-max)",
            all.map((s) => ({
                label: `down-after ${s.downAfter} ms, ping every ${s.pingPeriod} ms, ${s.fault}`,
                steps: steps.map((step) => ({ label: step.label, values: present(s.drills.map((d) => step.at(d))) })),
            })),
        ),
    );
    console.log(`wrote ${path.join(options.out, "waterfall.md")} and waterfall.svg`);
}

main().then(
    () => process.exit(0),
    (error) => {
        console.error(`bench: ${(error as Error).message}`);
        process.exit(1);
    },
);
