/**
 * npm run e2e:up [-- --hosts N | --engine NAME] - deploys the cluster the program declares on the local Docker engine, as the
 *                    end-to-end tests do, and writes its stack outputs (passwords included) to .e2e/cluster.json,
 *                    mode 0600. With --hosts N, starts the lab (N Docker engines, each in a network namespace of its
 *                    own: test/lab/lab.ts) and places the nodes across it, one after the other; the file then also
 *                    holds `hosts` ({ name, docker, netns, address }) and each node's `host`. With --engine NAME,
 *                    runs it on that tested engine: redis7 (Debian bookworm's Redis 7.0, the default), redis8
 *                    (Debian trixie's Redis 8.0) or valkey (Debian trixie's Valkey 8.1).
 * npm run e2e:down - removes every container, network and volume it made, and the lab.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { engineConfig, startCluster } from "../test/docker/cluster";
import { removeLabelled } from "../test/docker/deployer";
import { connectEngine } from "../test/docker/engine";
import { startLabCluster } from "../test/lab/cluster";
import { Lab } from "../test/lab/lab";

const stateDir = path.join(__dirname, "..", ".e2e");
const clusterFile = path.join(stateDir, "cluster.json");

// eslint-disable-next-line @typescript-eslint/no-require-imports -- index.ts must load after the mocks are set
const loadIndex = () => require("../index");

/** The lab cluster: `count` hosts dc1..dcN, the Redis nodes and the Sentinels each spread over them in turn. */
async function upOnHosts(count: number) {
    if (!Number.isInteger(count) || count < 1 || count > 9) {
        throw new Error(`--hosts must be a whole number from 1 to 9, got ${count}`);
    }
    const hosts = Array.from({ length: count }, (_, index) => `dc${index + 1}`);
    const spread = (prefix: string) => Object.fromEntries([1, 2, 3].map((n) => [`${prefix}${n}`, hosts[(n - 1) % count]]));
    const cluster = await startLabCluster(loadIndex, hosts, { ...spread("redis"), ...spread("sentinel") });
    const described = cluster.lab.hosts.map((host) => ({
        name: host.name,
        docker: host.endpoint,
        netns: host.netns,
        address: host.address,
    }));
    return { upMs: cluster.upMs, outputs: { ...cluster.outputs, hosts: described } };
}

async function up(): Promise<void> {
    const { values } = parseArgs({
        args: process.argv.slice(3),
        options: { hosts: { type: "string" }, engine: { type: "string", default: "redis7" } },
    });
    if (values.hosts !== undefined && values.engine !== "redis7") {
        throw new Error("--hosts runs the default engine only; leave out --engine");
    }
    const cluster =
        values.hosts === undefined
            ? await startCluster(loadIndex, engineConfig(values.engine!))
            : await upOnHosts(Number(values.hosts));
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(clusterFile, JSON.stringify(cluster.outputs, null, 2) + "\n", { mode: 0o600 });
    fs.chmodSync(clusterFile, 0o600);
    const nodes = [...cluster.outputs.redisNodes, ...cluster.outputs.sentinelNodes].map(
        (node) => `${node.name}=${node.ip}:${node.port}${"host" in node ? ` (${node.host})` : ""}`,
    );
    console.log(`e2e: up in ${cluster.upMs} ms on network ${cluster.outputs.network}: ${nodes.join(" ")}`);
    console.log(
        `e2e: stack outputs (with passwords) in ${path.relative(process.cwd(), clusterFile)}; remove with npm run e2e:down`,
    );
}

async function down(): Promise<void> {
    await Lab.removeLeftovers();
    const removed = await removeLabelled(connectEngine());
    fs.rmSync(clusterFile, { force: true });
    console.log(removed.length > 0 ? `e2e: removed ${removed.join(", ")}` : "e2e: nothing to remove");
}

const commands: Record<string, () => Promise<void>> = { up, down };
const command = commands[process.argv[2] ?? ""];
if (!command) {
    console.error("usage: ts-node scripts/e2e.ts up|down");
    process.exit(64);
}
command().catch((error: Error) => {
    console.error(`e2e: ${error.message}`);
    process.exit(1);
});
