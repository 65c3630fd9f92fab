/**
 * npm run e2e:up   - deploys the cluster the program declares on the local Docker engine, as the end-to-end tests do,
 *                    and writes its stack outputs (passwords included) to .e2e/cluster.json, mode 0600.
 * npm run e2e:down - removes every container, network and volume it made.
 */
import * as fs from "fs";
import * as path from "path";
import { startCluster } from "../test/docker/cluster";
import { removeLabelled } from "../test/docker/deployer";
import { connectEngine } from "../test/docker/engine";

const stateDir = path.join(__dirname, "..", ".e2e");
const clusterFile = path.join(stateDir, "cluster.json");

async function up(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- index.ts must load after the mocks are set
    const cluster = await startCluster(() => require("../index"));
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(clusterFile, JSON.stringify(cluster.outputs, null, 2) + "\n", { mode: 0o600 });
    fs.chmodSync(clusterFile, 0o600);
    const nodes = [...cluster.outputs.redisNodes, ...cluster.outputs.sentinelNodes].map(
        (node) => `${node.name}=${node.ip}:${node.port}`,
    );
    console.log(`e2e: up in ${cluster.upMs} ms on network ${cluster.outputs.network}: ${nodes.join(" ")}`);
    console.log(
        `e2e: stack outputs (with passwords) in ${path.relative(process.cwd(), clusterFile)}; remove with npm run e2e:down`,
    );
}

async function down(): Promise<void> {
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
