/**
 * npm run bench:soak -- [--minutes 20] [--dataset-gb 3] [--candidates 5000,4000,3500,3000,2500,2000,1500] [--engine redis7]
 *                       [--out DIR]
 *
 * Holds the program's cluster in containers under the heaviest load we expect of it and records every time a Sentinel
 * mistook a healthy node for a dead one, at each candidate `down-after-milliseconds` at once:
 *
 * - the load: a dataset of `--dataset-gb` GB of incompressible values; a writer at full speed and a reader (the
 *   engine's benchmark tool, as the application user, in containers of their own); BGSAVE every minute and
 *   BGREWRITEAOF every minute between them; a full resync of a replica every 4 minutes (the two in turn); a set of a
 *   million members built and deleted with DEL every 5 minutes; and a process that keeps one core busy.
 * - the watchers: the cluster's own Sentinels (the program's settings), and three observer Sentinels beside them that
 *   monitor the same master once per candidate value, under a name of their own (`soak-<ms>`) and with a quorum no
 *   majority can reach, so that they report +sdown and TILT like a real Sentinel at that setting and never act. Whether
 *   a candidate would also have failed the master over (+odown) is read from their overlapping +sdown periods.
 * - the ping tail: a worker thread pings every node as a Sentinel does, ten times a second, and times every reply.
 *
 * Writes soak.md and soak-pings.svg to DIR (default bench/results). Needs Docker and root, as the end-to-end tests do.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { randomBytes } from "crypto";
import { parseArgs } from "util";
import { Worker } from "worker_threads";
import Docker from "dockerode";
import Redis from "ioredis";
import { engineConfig, RunningCluster, sentinelPingPeriodMs, startCluster } from "../test/docker/cluster";
import { e2eLabel, removeLabelled } from "../test/docker/deployer";
import { execIn } from "../test/docker/exec";
import { tarOf } from "../test/docker/tarEntries";
import { loadSettings } from "../settings";
import { NodeAddress } from "../settings/types";
import { address, ClusterDescription, loginAs } from "../tools/lib/cluster";
import { SentinelEvent, watchSentinelEvents, waitHealthy } from "../tools/lib/failover";
import { parseInfo, withConnection } from "../tools/lib/observe";
import { pollUntil } from "../tools/lib/poll";
import { latencyChart, median, quantile } from "./chart";
import { loadIndex } from "./options";
import { PingBatch, PingWorkerData } from "./pingWorker";

const program = loadSettings(() => undefined).topology;

function soakOptions() {
    const { values } = parseArgs({
        options: {
            minutes: { type: "string", default: "20" },
            "dataset-gb": { type: "string", default: "3" },
            candidates: { type: "string", default: "5000,4000,3500,3000,2500,2000,1500" },
            engine: { type: "string", default: "redis7" },
            "ping-period": { type: "string", default: String(sentinelPingPeriodMs()) },
            out: { type: "string", default: "bench/results" },
        },
    });
    const number = (name: string, text: string, min: number, max: number) => {
        const value = Number(text);
        if (!Number.isFinite(value) || value < min || value > max) {
            throw new Error(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
        }
        return value;
    };
    const candidates = values.candidates!.split(",").map((text) => number("candidates", text.trim(), 100, 60_000));
    return {
        minutes: number("minutes", values.minutes!, 1, 600),
        datasetGb: number("dataset-gb", values["dataset-gb"]!, 0, 8),
        candidates: [...new Set(candidates)].sort((a, b) => b - a),
        engine: values.engine!,
        config: engineConfig(values.engine!),
        pingPeriod: number("ping-period", values["ping-period"]!, 100, 1000),
        out: values.out!,
    };
}

/** Addresses on redisnet for the soak's own containers, above the cluster's nodes and the tests' probe (.31). */
const helperIp = (description: ClusterDescription, host: number) =>
    description.redisNodes[0].ip.split(".").slice(0, 3).concat(String(host)).join(".");

interface Helper {
    readonly name: string;
    readonly container: Docker.Container;
}

/** An idle container of the cluster's image on redisnet, removed with the cluster (it carries the e2e label). */
async function startHelper(cluster: RunningCluster, name: string, ip: string): Promise<Helper> {
    const container = await cluster.docker.createContainer({
        name,
        Image: cluster.imageId,
        Entrypoint: ["sleep", "infinity"],
        Labels: { [e2eLabel]: "true" },
        HostConfig: { NetworkMode: cluster.outputs.network },
        NetworkingConfig: { EndpointsConfig: { [cluster.outputs.network]: { IPAMConfig: { IPv4Address: ip } } } },
    });
    await container.start();
    return { name, container };
}

/** Runs `script` in the background of a helper (bash, the engine's binaries known as in node-lib.sh). */
async function runInBackground(helper: Helper, script: string, env: readonly string[]): Promise<void> {
    const result = await execIn(
        helper.container,
        ["bash", "-c", `. /usr/local/lib/redis-node/node-lib.sh && (${script}) >/tmp/background.log 2>&1 &`],
        env,
    );
    if (result.exitCode !== 0) {
        throw new Error(`${helper.name}: could not start its load: ${result.stderr.trim()}`);
    }
}

/**
 * An observer Sentinel: the master monitored once per candidate, as `soak-<ms>`, with that down-after and a quorum of
 * 99, which three observers never reach: it reports +sdown and TILT and never starts a failover. It logs in to the
 * nodes as the cluster's Sentinels do (sentinelredis); its own port has no users, as a test's container may.
 */
async function startObserver(
    cluster: RunningCluster,
    name: string,
    ip: string,
    master: NodeAddress,
    candidates: readonly number[],
    pingPeriod: number,
): Promise<Helper & NodeAddress> {
    const helper = await startHelper(cluster, name, ip);
    const lines = [`port 26379`, `bind ${ip}`, `protected-mode no`, `sentinel announce-ip ${ip}`];
    for (const ms of candidates) {
        const watched = `soak-${ms}`;
        lines.push(
            `sentinel monitor ${watched} ${master.ip} ${master.port} 99`,
            `sentinel down-after-milliseconds ${watched} ${ms}`,
            `sentinel auth-user ${watched} sentinelredis`,
            `sentinel auth-pass ${watched} ${cluster.outputs.passwords.sentinelredis}`,
        );
    }
    await helper.container.putArchive(
        tarOf([{ path: "tmp/observer.conf", content: Buffer.from(lines.join("\n") + "\n"), mode: 0o600 }]),
        { path: "/" },
    );
    await runInBackground(helper, `exec "$ENGINE_SERVER" /tmp/observer.conf --sentinel`, []);
    const observer = { ...helper, ip, port: 26379 };
    // The ping period of the program's Sentinels (image/entrypoint.sh sets it the same way at every start).
    await pollUntil(
        `${name} to take its ping period`,
        () =>
            withConnection(observer, { username: "", password: "" }, (client) =>
                client.call("SENTINEL", "DEBUG", "ping-period", String(pingPeriod)),
            ).catch(() => undefined),
        { timeoutMs: 20_000, intervalMs: 200 },
    );
    return observer;
}

/** The candidate a Sentinel event belongs to (`soak-<ms>` in its message), or undefined for the cluster's own. */
const candidateOf = (event: SentinelEvent): number | undefined => {
    const match = / @ soak-(\d+) |^master soak-(\d+) /.exec(event.detail);
    return match ? Number(match[1] ?? match[2]) : undefined;
};

/** The node an event is about: "master" or the replica's ip:port. */
const subjectOf = (event: SentinelEvent): string => {
    const [kind, name] = event.detail.split(" ");
    return kind === "master" ? "master" : name;
};

/** An event of an observer Sentinel (soak-observerN), not of the cluster's own. */
const fromObserver = (event: SentinelEvent) => event.sentinel.startsWith("soak-observer");

const isAlarm = (event: SentinelEvent) => /^[+-](sdown|odown|tilt)$|^\+(try-failover|failover|switch-master)/.test(event.event);

/** The moments at least `quorum` observers saw the same node down together: a failover that candidate would start. */
function wouldBeOdowns(events: readonly SentinelEvent[], quorum: number): number {
    const down = new Map<string, Set<string>>();
    let count = 0;
    for (const event of events) {
        const key = subjectOf(event);
        const set = down.get(key) ?? new Set<string>();
        down.set(key, set);
        const before = set.size;
        if (event.event === "+sdown") {
            set.add(event.sentinel);
        }
        if (event.event === "-sdown") {
            set.delete(event.sentinel);
        }
        if (before < quorum && set.size >= quorum) {
            count++;
        }
    }
    return count;
}

/** The load's actions, each with the time it started, to name what the worst ping replies coincided with. */
interface Action {
    readonly at: number;
    readonly what: string;
}

/** One stall a node measured in itself (its latency monitor): what it was doing, when (unix s), and for how long. */
interface NodeStall {
    readonly node: string;
    readonly event: string;
    readonly at: number;
    readonly ms: number;
}

/** The nodes' own latency monitors record every stall from this long on (ms). */
const stallThresholdMs = 100;

/** Every stall each node's latency monitor kept (the last 160 of each kind, at most one per second), and its forks. */
async function nodeStalls(description: ClusterDescription): Promise<{ stalls: NodeStall[]; forks: Record<string, string> }> {
    const stalls: NodeStall[] = [];
    const forks: Record<string, string> = {};
    for (const node of description.redisNodes) {
        await withConnection(
            node,
            loginAs(description, "admin"),
            async (client) => {
                const latest = (await client.call("LATENCY", "LATEST")) as [string, ...unknown[]][];
                for (const [event] of latest) {
                    const history = (await client.call("LATENCY", "HISTORY", event)) as [number, number][];
                    stalls.push(...history.map(([at, ms]) => ({ node: node.name, event, at, ms })));
                }
                const stats = parseInfo(await client.info("stats"));
                forks[node.name] =
                    `${stats.total_forks ?? "?"} forks, the last ${(Number(stats.latest_fork_usec) / 1000).toFixed(0)} ms`;
            },
            10_000,
        );
    }
    return { stalls, forks };
}

async function loadDataset(description: ClusterDescription, master: NodeAddress, gigabytes: number): Promise<number> {
    const admin = loginAs(description, "admin");
    const client = new Redis({ host: master.ip, port: master.port, username: admin.username, password: admin.password });
    client.on("error", () => undefined);
    const valueBytes = 10_000;
    const keys = Math.round((gigabytes * 1e9) / valueBytes);
    try {
        for (let i = 0, retries = 0; i < keys; i += 100) {
            const pipeline = client.pipeline();
            for (let j = i; j < Math.min(keys, i + 100); j++) {
                pipeline.set(`soak:data:${j}`, randomBytes(valueBytes));
            }
            const replies = await pipeline.exec();
            const failed = replies?.find(([error]) => error)?.[0] as Error | undefined;
            // The write guard refuses writes while the replicas lag (min-replicas-max-lag): wait, and send again.
            if (failed && /^NOREPLICAS/.test(failed.message) && retries < 600) {
                retries++;
                i -= 100;
                await new Promise((resolve) => setTimeout(resolve, 500));
                continue;
            }
            if (failed) {
                throw new Error(`loading the dataset: ${failed.message}`);
            }
            if (i % 50_000 === 0) {
                console.log(`dataset: ${((i * valueBytes) / 1e9).toFixed(1)} of ${gigabytes} GB`);
            }
        }
    } finally {
        client.disconnect();
    }
    return keys;
}

/** Waits until every replica has all of the master's replication stream (the dataset is everywhere). */
async function replicasCaughtUp(description: ClusterDescription, master: NodeAddress, timeoutMs: number): Promise<void> {
    await pollUntil(
        "the replicas to catch up with the dataset",
        () =>
            withConnection(master, loginAs(description, "admin"), async (client) => {
                const info = parseInfo(await client.info("replication"));
                const offsets = Object.entries(info)
                    .filter(([key]) => /^slave\d+$/.test(key))
                    .map(([, value]) => Number(/offset=(\d+)/.exec(value)?.[1] ?? -1));
                const caughtUp =
                    offsets.length === description.redisNodes.length - 1 &&
                    offsets.every((offset) => offset >= Number(info.master_repl_offset));
                return caughtUp ? true : undefined;
            }),
        { timeoutMs, intervalMs: 1000 },
    );
}

function startPingWorker(description: ClusterDescription, samples: PingBatch["samples"]): Worker {
    const login = loginAs(description, "sentinelredis");
    const data: PingWorkerData = {
        targets: description.redisNodes.map((node) => ({ name: node.name, ip: node.ip, port: node.port })),
        username: login.username,
        password: login.password,
        intervalMs: 100,
        giveUpMs: 60_000,
    };
    const worker = new Worker(path.join(__dirname, "pingWorker.ts"), {
        workerData: data,
        execArgv: ["--require", "ts-node/register/transpile-only"],
    });
    worker.on("message", (batch: PingBatch) => samples.push(...batch.samples));
    worker.on("error", (error) => console.error(`ping worker: ${error.message}`));
    return worker;
}

interface SoakResult {
    readonly engine: string;
    readonly stalls: readonly NodeStall[];
    readonly forks: Readonly<Record<string, string>>;
    readonly minutes: number;
    readonly datasetGb: number;
    readonly keys: number;
    readonly candidates: readonly number[];
    readonly pingPeriod: number;
    readonly events: readonly SentinelEvent[];
    readonly observers: readonly string[];
    readonly pings: PingBatch["samples"];
    readonly actions: readonly Action[];
    readonly writerOps: string;
}

const minSec = (ms: number) => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, "0")}`;
/** When, relative to the load's first action (the pings start a little before it). */
const whenInSoak = (ms: number) => (ms < 0 ? `${minSec(-ms)} before the load started` : `at ${minSec(ms)} into the soak`);

function progressLine(elapsedMs: number, totalMs: number, result: Pick<SoakResult, "events" | "pings" | "candidates">) {
    const ms = result.pings.map((p) => p.ms);
    const sdowns = result.candidates
        .map((c) => `${c}:${result.events.filter((e) => e.event === "+sdown" && candidateOf(e) === c).length}`)
        .join(" ");
    const own = result.events.filter((e) => !fromObserver(e) && isAlarm(e)).length;
    const tilts = result.events.filter((e) => e.event === "+tilt").length;
    return `soak ${minSec(elapsedMs)} / ${minSec(totalMs)} | pings ${ms.length} p99 ${quantile(ms, 0.99).toFixed(1)} ms max ${Math.max(0, ...ms).toFixed(0)} ms | +sdown per candidate ${sdowns} | TILT ${tilts} | cluster's Sentinels: ${own} alarms`;
}

async function soak(options: ReturnType<typeof soakOptions>): Promise<SoakResult> {
    const cluster = await startCluster(loadIndex, options.config);
    const description = cluster.outputs as unknown as ClusterDescription;
    const events: SentinelEvent[] = [];
    const pings: PingBatch["samples"] = [];
    const actions: Action[] = [];
    const stops: (() => unknown)[] = [];
    try {
        const masterAddress = await waitHealthy(description, 120_000);
        const master = description.redisNodes.find((node) => address(node) === masterAddress)!;
        const replicas = description.redisNodes.filter((node) => node !== master);
        const started = Date.now();
        const keys = await loadDataset(description, master, options.datasetGb);
        await replicasCaughtUp(description, master, 600_000);
        console.log(`dataset of ${options.datasetGb} GB (${keys} keys) on every node after ${minSec(Date.now() - started)}`);

        // Each node records its own stalls (fork, AOF write/fsync, slow command), to tell them from the host's.
        for (const node of description.redisNodes) {
            await withConnection(node, loginAs(description, "admin"), (c) =>
                c.config("SET", "latency-monitor-threshold", String(stallThresholdMs)),
            );
        }
        // The watchers first, so that the load's start is watched too.
        const observers = [];
        for (let i = 0; i < 3; i++) {
            observers.push(
                await startObserver(
                    cluster,
                    `soak-observer${i + 1}`,
                    helperIp(description, 41 + i),
                    master,
                    options.candidates,
                    options.pingPeriod,
                ),
            );
        }
        stops.push(await watchSentinelEvents(observers, undefined, (event) => events.push(event)));
        stops.push(
            await watchSentinelEvents(description.sentinelNodes, loginAs(description, "admin"), (event) => events.push(event)),
        );
        const worker = startPingWorker(description, pings);
        stops.push(() => worker.terminate());

        // The load.
        const app = [`APP_USER=${description.appUser}`, `APP_PASSWORD=${description.passwords.app}`];
        const benchmark = (target: NodeAddress, args: string) =>
            `exec "\${ENGINE_CLI%-cli}-benchmark" -h ${target.ip} -p ${target.port} --user "$APP_USER" -a "$APP_PASSWORD" -l -q ${args}`;
        const writer = await startHelper(cluster, "soak-writer", helperIp(description, 45));
        await runInBackground(writer, benchmark(master, "-c 8 -d 100 -r 1000000 -t set"), app);
        const reader = await startHelper(cluster, "soak-reader", helperIp(description, 46));
        await runInBackground(reader, benchmark(master, `-c 4 -r ${keys} -t get`), app);
        const hog = await startHelper(cluster, "soak-cpu-hog", helperIp(description, 47));
        await runInBackground(hog, "while :; do :; done", []);

        const admin = loginAs(description, "admin");
        const asAdmin = <T>(node: NodeAddress, run: (client: Redis) => Promise<T>) => withConnection(node, admin, run, 30_000);
        const act = async (what: string, run: () => Promise<unknown>) => {
            actions.push({ at: Date.now(), what });
            await run().catch((error: Error) => actions.push({ at: Date.now(), what: `${what} failed: ${error.message}` }));
        };
        const totalMs = options.minutes * 60_000;
        const soakStart = Date.now();
        let resyncs = 0;
        for (let second = 0; Date.now() - soakStart < totalMs; second++) {
            const tick = soakStart + second * 1000;
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, tick - Date.now())));
            if (second % 60 === 0) {
                await act("BGSAVE on the master", () => asAdmin(master, (c) => c.call("BGSAVE", "SCHEDULE")));
            }
            if (second % 60 === 30) {
                await act("BGREWRITEAOF on the master", () => asAdmin(master, (c) => c.bgrewriteaof()));
            }
            if (second % 240 === 120) {
                const replica = replicas[resyncs++ % replicas.length];
                // Atomically, so that no INFO of a Sentinel sees it as a master: a new replication id, so a full resync.
                await act(`full resync of ${replica.name}`, () =>
                    asAdmin(replica, (c) =>
                        c.multi().call("REPLICAOF", "NO", "ONE").call("REPLICAOF", master.ip, String(master.port)).exec(),
                    ),
                );
            }
            if (second % 300 === 200) {
                // Built a thousand members per command, so that building it blocks nothing; deleting it is the test.
                await act("a set of 1,000,000 members built", () =>
                    asAdmin(master, async (c) => {
                        for (let from = 0; from < 1_000_000; from += 100_000) {
                            const pipeline = c.pipeline();
                            for (let batch = from; batch < from + 100_000; batch += 1000) {
                                pipeline.sadd("soak:large", ...Array.from({ length: 1000 }, (_, k) => `member:${batch + k}`));
                            }
                            await pipeline.exec();
                        }
                    }),
                );
                await act("DEL of the set of 1,000,000 members", () => asAdmin(master, (c) => c.del("soak:large")));
            }
            if (second % 30 === 0) {
                console.log(progressLine(Date.now() - soakStart, totalMs, { events, pings, candidates: options.candidates }));
            }
        }
        const writerOps = await withConnection(
            master,
            admin,
            async (c) => parseInfo(await c.info("stats")).total_commands_processed,
            10_000,
        );
        const engine = await withConnection(
            master,
            admin,
            async (c) => {
                const info = parseInfo(await c.info("server"));
                return info.valkey_version ? `valkey ${info.valkey_version}` : `redis ${info.redis_version}`;
            },
            10_000,
        );
        const { stalls, forks } = await nodeStalls(description);
        return {
            engine,
            stalls,
            forks,
            minutes: options.minutes,
            datasetGb: options.datasetGb,
            keys,
            candidates: options.candidates,
            pingPeriod: options.pingPeriod,
            events: [...events],
            observers: observers.map((o) => o.name),
            pings: [...pings],
            actions,
            writerOps,
        };
    } finally {
        for (const stop of stops) {
            await stop();
        }
        await removeLabelled(cluster.docker);
    }
}

/** What the report says of each candidate, and whether it may be the default. */
interface Verdict {
    readonly ms: number;
    readonly masterSdowns: number;
    readonly replicaSdowns: number;
    readonly odowns: number;
    readonly tilts: number;
    readonly eligible: boolean;
    readonly why: string;
}

function verdicts(result: SoakResult, worstPingMs: number): Verdict[] {
    const tilts = result.events.filter((e) => e.event === "+tilt" && fromObserver(e)).length;
    return result.candidates.map((ms) => {
        const own = result.events.filter((e) => candidateOf(e) === ms);
        const sdowns = own.filter((e) => e.event === "+sdown");
        const masterSdowns = sdowns.filter((e) => subjectOf(e) === "master").length;
        const odowns = wouldBeOdowns(own, program.quorum);
        const reasons = [
            ...(sdowns.length > 0 ? [`${sdowns.length} false +sdown`] : []),
            ...(tilts > 0 ? [`${tilts} TILT`] : []),
            ...(ms < 2 * worstPingMs ? [`under twice the worst ping (${(2 * worstPingMs).toFixed(0)} ms)`] : []),
            ...(program.minReplicasMaxLag * 1000 >= ms
                ? [`not above the write guard's lag (minReplicasMaxLag ${program.minReplicasMaxLag} s)`]
                : []),
        ];
        return {
            ms,
            masterSdowns,
            replicaSdowns: sdowns.length - masterSdowns,
            odowns,
            tilts,
            eligible: reasons.length === 0,
            why: reasons.length === 0 ? "eligible" : reasons.join("; "),
        };
    });
}

/** The node's own stalls that overlap a ping's wait (the monitor stamps a stall, to the second, when it ends). */
function ownStalls(result: SoakResult, ping: PingBatch["samples"][number]): string {
    const overlapping = result.stalls.filter(
        (s) => s.node === ping.node && s.at * 1000 + 1000 >= ping.sentAt && s.at * 1000 - s.ms <= ping.sentAt + ping.ms,
    );
    return overlapping.length ? overlapping.map((s) => `${s.event} ${s.ms} ms`).join(", ") : "no stall of its own";
}

function stallSummary(result: SoakResult, node: string): string {
    const own = result.stalls.filter((s) => s.node === node);
    const kinds = [...new Set(own.map((s) => s.event))];
    return kinds.length
        ? kinds
              .map((kind) => {
                  const ms = own.filter((s) => s.event === kind).map((s) => s.ms);
                  return `${kind} ${ms.length}, ${Math.max(...ms)} ms`;
              })
              .join("; ")
        : "none";
}

function markdownReport(commandLine: string, result: SoakResult): string {
    const all = result.pings.map((p) => p.ms);
    const worst = [...result.pings].sort((a, b) => b.ms - a.ms).slice(0, 5);
    const worstPingMs = worst[0]?.ms ?? 0;
    const during = (at: number) => {
        const before = result.actions.filter((a) => a.at <= at + 1000 && a.at >= at - 60_000);
        return before.length
            ? `${before[before.length - 1].what}, ${((at - before[before.length - 1].at) / 1000).toFixed(1)} s after it`
            : "no action";
    };
    const rows = verdicts(result, worstPingMs);
    const lowest = rows.filter((r) => r.eligible).map((r) => r.ms);
    const chosen = lowest.length ? Math.min(...lowest) : undefined;
    const byNode = [...new Set(result.pings.map((p) => p.node))].map((node) => {
        const ms = result.pings.filter((p) => p.node === node).map((p) => p.ms);
        return `| ${node} | ${ms.length} | ${median(ms).toFixed(2)} | ${quantile(ms, 0.99).toFixed(2)} | ${quantile(ms, 0.999).toFixed(1)} | ${Math.max(...ms).toFixed(1)} |`;
    });
    const ownAlarms = result.events.filter((e) => !fromObserver(e) && isAlarm(e));
    return [
        "# Soak: false alarms and the ping tail under load",
        "",
        `Command: \`${commandLine}\``,
        "",
        `Run on ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${result.engine} in the program's containers (the e2e cluster: 1 master, 2 replicas, 3 Sentinels, its rendered config). ${result.minutes} minutes of load after a dataset of ${result.datasetGb} GB (${result.keys} keys of 10 kB random bytes) was loaded and replicated:`,
        "a writer at full speed (`SET`, 8 connections, 100-byte values over a million keys) and a reader (`GET`, 4 connections, over the dataset), both the engine's benchmark tool as the application user; `BGSAVE` every minute and `BGREWRITEAOF` every minute between them; a full resync of a replica every 4 minutes; a set of a million members built and deleted with `DEL` every 5 minutes; a process keeping one of the two cores busy.",
        `Commands the master processed in all: ${result.writerOps}.`,
        "",
        "## False alarms per candidate `down-after-milliseconds`",
        "",
        `Three observer Sentinels monitor the master once per candidate (quorum out of reach: they report, never act), pinging every ${result.pingPeriod} ms as the program's Sentinels do (SENTINEL DEBUG ping-period). A false alarm is a \`+sdown\` of a node that was up the whole time; a would-be failover is a moment when two observers (the program's quorum) saw the same node down together.`,
        "",
        "| down-after (ms) | +sdown of the master | +sdown of a replica | would-be failovers (+odown) | TILT | verdict |",
        "|---|---|---|---|---|---|",
        ...rows.map((r) => `| ${r.ms} | ${r.masterSdowns} | ${r.replicaSdowns} | ${r.odowns} | ${r.tilts} | ${r.why} |`),
        "",
        chosen === undefined
            ? "No candidate had zero false alarms and at least twice the worst ping reply."
            : `Lowest candidate with zero false alarms, at least twice the worst ping reply, and above the write guard's lag: **${chosen} ms**.`,
        "",
        `The cluster's own Sentinels (down-after ${program.downAfterMilliseconds} ms): ${ownAlarms.length === 0 ? "no alarm" : ownAlarms.map((e) => `${e.event} ${e.detail} (${e.sentinel})`).join("; ")}.`,
        "",
        "## Ping replies",
        "",
        "Every node pinged ten times a second from a thread of its own, one PING in flight, as a Sentinel pings (ms):",
        "",
        "| node | pings | p50 | p99 | p99.9 | max |",
        "|---|---|---|---|---|---|",
        ...byNode,
        `| all | ${all.length} | ${median(all).toFixed(2)} | ${quantile(all, 0.99).toFixed(2)} | ${quantile(all, 0.999).toFixed(1)} | ${Math.max(...all).toFixed(1)} |`,
        "",
        "The five slowest replies, the load's last action before each, and what the node itself measured then (its latency monitor's stalls of at least " +
            `${stallThresholdMs} ms that overlap the wait, to the second):`,
        "",
        ...worst.map(
            (p) =>
                `- ${p.ms.toFixed(0)} ms, ${p.node}, ${whenInSoak(p.sentAt - (result.actions[0]?.at ?? p.sentAt))}: ${during(p.sentAt)}; the node: ${ownStalls(result, p)}`,
        ),
        "",
        `What each node's latency monitor recorded (stalls of at least ${stallThresholdMs} ms, by kind: count, longest):`,
        "",
        "| node | forks | stalls |",
        "|---|---|---|",
        ...Object.entries(result.forks).map(([node, forks]) => `| ${node} | ${forks} | ${stallSummary(result, node)} |`),
        "",
        "![ping replies slower than x, per node, with the candidates' down-after](soak-pings.svg)",
        "",
        "## What the load did",
        "",
        ...result.actions.map((a) => `- ${minSec(a.at - result.actions[0].at)} ${a.what}`),
        "",
    ].join("\n");
}

async function main(): Promise<void> {
    const options = soakOptions();
    const result = await soak(options);
    const commandLine = `npm run bench:soak -- --minutes ${options.minutes} --dataset-gb ${options.datasetGb} --candidates ${options.candidates.join(",")} --engine ${options.engine} --ping-period ${options.pingPeriod}`;
    fs.mkdirSync(options.out, { recursive: true });
    fs.writeFileSync(path.join(options.out, "soak.md"), markdownReport(commandLine, result));
    fs.writeFileSync(
        path.join(options.out, "soak-pings.svg"),
        latencyChart(
            "Ping replies slower than x (fraction of all, per node)",
            [...new Set(result.pings.map((p) => p.node))].map((node) => ({
                label: node,
                values: result.pings.filter((p) => p.node === node).map((p) => p.ms),
            })),
            result.candidates.map((ms) => ({ label: `${ms}`, at: ms })),
        ),
    );
    fs.writeFileSync(
        path.join(options.out, "soak-events.json"),
        JSON.stringify({ events: result.events, actions: result.actions, stalls: result.stalls }, null, 1),
    );
    console.log(`wrote ${path.join(options.out, "soak.md")}, soak-pings.svg and soak-events.json`);
}

main().then(
    () => process.exit(0),
    (error) => {
        console.error(`bench: ${(error as Error).message}`);
        process.exit(1);
    },
);
