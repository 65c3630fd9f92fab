/**
 * The other tested engines, each a cluster of the program's containers with TLS on every link: Debian trixie's
 * Redis 8.0 and Valkey 8.1 (the full e2e suite runs on Debian bookworm's Redis 7.0). On each: the engine every node
 * reports, least privilege derived from the engine's own command table, the seed's failover drill, the planned-stop
 * handover, and the guard against a master that comes back with an empty volume.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";
import Redis from "ioredis";
import { Principal, redisAclProfiles, sentinelAclProfilesFor } from "../../acl";
import { loadSettings } from "../../settings";
import { engineOf } from "../../settings/engine";
import { dockerPause, dockerStop } from "../../tools/drill";
import { address, ClusterDescription, loginAs, tlsOptionsOf } from "../../tools/lib/cluster";
import { longestGap, missingWrites, runFailoverDrill, startConfirmingWriter, waitHealthy } from "../../tools/lib/failover";
import { assessUntilHealthy } from "../../tools/lib/gate";
import { withConnection } from "../../tools/lib/observe";
import { engineConfig, e2eStackConfig, RunningCluster, startCluster, TestEngine } from "../docker/cluster";
import { removeLabelled } from "../docker/deployer";
import { aclProbes, describeProbe, leastPrivilege, MatrixServers, outcome } from "../support/aclMatrix";
import { connectEngine } from "../docker/engine";
import { execIn } from "../docker/exec";
import { describeWithEngine, loadProgram, logMark, logSince, startContainer, waitFor } from "./support";

/** The engines this suite runs, and what their nodes report (INFO server). */
const engines: readonly [TestEngine, RegExp][] = [
    ["redis8", /^redis 8\.0\.\d+$/],
    ["valkey", /^valkey 8\.1\.\d+$/],
];
/** The planned stop's bound, as in maintenance.test.ts. */
const stopGapBoundMs = 3000;

describeWithEngine("the other engines on a real Docker engine, with TLS", () => {
    describe.each(engines)("%s", (engine, versionPattern) => {
        let cluster: RunningCluster;
        let docker: Docker;
        let description: ClusterDescription;
        const config = { ...engineConfig(engine), tlsEnabled: "true" };

        beforeAll(async () => {
            cluster = await startCluster(loadProgram, config);
            docker = cluster.docker;
            description = cluster.outputs as unknown as ClusterDescription;
            console.log(`e2e ${engine}: cluster up in ${cluster.upMs} ms`);
        }, 10 * 60_000);

        afterAll(async () => {
            await removeLabelled(connectEngine());
        }, 120_000);

        test("every node runs the engine, the cluster is healthy over TLS, and the image names the engine's binaries", async () => {
            const assessment = await assessUntilHealthy(description, 60_000);
            expect(assessment.problems).toEqual([]);
            const versions = assessment.nodes.map((row) => row.version);
            console.log(`e2e ${engine}: ${versions.join(", ")}`);
            for (const version of versions) {
                expect(version).toMatch(versionPattern);
            }
            const expected = engineOf({ ...e2eStackConfig, ...config } as never).name;
            const { stdout } = await execIn(docker.getContainer(description.redisNodes[0].name), [
                "cat",
                "/usr/local/lib/redis-node/engine.env",
            ]);
            expect(stdout).toContain(`ENGINE_SERVER=${expected}-server`);
        });

        test("npm run deploy's gate refuses, before anything is replaced, to move these nodes to Debian bookworm's Redis 7.0, which cannot read their data", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-"));
            try {
                const clusterFile = path.join(dir, "cluster.json");
                fs.writeFileSync(clusterFile, JSON.stringify(description), { mode: 0o600 });
                const stackFile = path.join(dir, "Pulumi.switch.yaml");
                fs.writeFileSync(
                    stackFile,
                    "config:\n  redis-sentinel:redisSource: debian\n  redis-sentinel:baseImage: debian:bookworm\n  redis-sentinel:modules: []\n",
                );
                const result = await new Promise<{ code: number; stdout: string }>((resolve) =>
                    execFile(
                        "npx",
                        [
                            "ts-node",
                            "--transpile-only",
                            "tools/gate.ts",
                            "--from",
                            clusterFile,
                            "--stack-file",
                            stackFile,
                            "--wait",
                            "30",
                        ],
                        { cwd: path.join(__dirname, "..", ".."), timeout: 90_000 },
                        (error, stdout) => resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout }),
                    ),
                );
                console.log(`e2e ${engine} gate: ${result.stdout.trim()}`);
                expect(result.code).toBe(1);
                expect(result.stdout.trim()).toMatch(
                    /^gate: refusing to switch engine: the nodes run (redis 8\.0\.\d+ \(RDB format 12\)|valkey 8\.1\.\d+ \(RDB format 11\)), and the new image's redis 7\.0 reads RDB formats up to 10/,
                );
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }, 120_000);

        test("least privilege on the engine's own command table: no restricted user may run a command its profile does not grant, and the application user no admin or dangerous one", async () => {
            const line = engineOf({ ...e2eStackConfig, ...config } as never).line;
            const profiles = {
                redis: redisAclProfiles({ name: description.appUser, rules: loadSettings(() => undefined).appUser.rules }, []),
                sentinel: sentinelAclProfilesFor(line),
            };
            const summary: string[] = [];
            for (const kind of ["redis", "sentinel"] as const) {
                const node = kind === "redis" ? description.redisNodes[0] : description.sentinelNodes[0];
                await withConnection(
                    node,
                    loginAs(description, "admin"),
                    async (admin) => {
                        const report = await leastPrivilege(admin, kind, profiles[kind], description.appUser);
                        expect(report.beyondProfile).toEqual([]);
                        expect(report.appPrivileged).toEqual(kind === "redis" ? ["info", "role"] : []);
                        expect(report.unclear.length).toBeLessThan(report.tableSize / 10);
                        summary.push(report.summary);
                    },
                    30_000,
                );
            }
            console.log(`e2e ${engine} least privilege: ${summary.join("; ")}`);
        }, 120_000);

        describe("the ACL matrix (test/support/aclMatrix.ts), before any failover moves the master off the first node", () => {
            const probes = aclProbes(sentinelAclProfilesFor(engineOf({ ...e2eStackConfig, ...config } as never).line));
            const servers = (): MatrixServers => ({
                connect: (target, user) => {
                    const node = target === "redis" ? description.redisNodes[0] : description.sentinelNodes[0];
                    const client = new Redis({
                        host: node.ip,
                        port: node.port,
                        // Without a login, RESP2: ioredis would otherwise open with HELLO 3, refused before AUTH.
                        ...(user === null ? { protocol: 2 as const } : { username: user, password: servers().passwordOf(user) }),
                        tls: tlsOptionsOf(description),
                        enableReadyCheck: false,
                        maxRetriesPerRequest: 0,
                        retryStrategy: () => null,
                        connectTimeout: 3000,
                        commandTimeout: 3000,
                        disableClientInfo: true,
                    });
                    client.on("error", () => undefined);
                    return client;
                },
                passwordOf: (user) => description.passwords[(user === description.appUser ? "app" : user) as Principal],
            });
            test.each(probes.map((probe) => [describeProbe(probe), probe] as const))("%s", async (_name, probe) => {
                expect(await outcome(servers(), probe)).toBe(probe.expect);
            });
        });

        test("the seed's failover drill: the master paused, a new one elected, the old one back as a replica, no confirmed write lost", async () => {
            await waitHealthy(description, 60_000);
            const report = await runFailoverDrill(description, dockerPause(docker), { timeoutMs: 60_000 });
            console.log(
                `e2e ${engine} drill: ${report.oldMaster} -> ${report.newMaster}, failover ${report.failoverMs} ms, gap ${report.writeOutageMs} ms, recovery ${report.recoveryMs} ms, ${report.writesConfirmed} confirmed, ${report.writesLost} lost`,
            );
            expect(report.newMaster).not.toBe(report.oldMaster);
            expect(report.writesLost).toBe(0);
        }, 180_000);

        test(`a planned stop of the master hands over within ${stopGapBoundMs} ms of write gap, no confirmed write lost`, async () => {
            await waitHealthy(description, 60_000);
            const report = await runFailoverDrill(description, dockerStop(docker), { timeoutMs: 60_000 });
            console.log(
                `e2e ${engine} planned stop: ${report.oldMaster} -> ${report.newMaster}, gap ${report.writeOutageMs} ms, ${report.writesConfirmed} confirmed, ${report.writesLost} lost`,
            );
            expect(report.newMaster).not.toBe(report.oldMaster);
            expect(report.writesLost).toBe(0);
            expect(report.writeOutageMs).toBeLessThanOrEqual(stopGapBoundMs);
        }, 180_000);

        test("a master whose volume comes back empty gets a replica promoted and starts as its replica, no confirmed write lost", async () => {
            const master = await waitHealthy(description, 60_000);
            const node = description.redisNodes.find((candidate) => address(candidate) === master)!;
            const writer = startConfirmingWriter(description, 20, Date.now() + 180_000);
            let newMaster: string;
            const mark = await logMark(docker, node.name);
            try {
                await waitFor("writes to be confirmed", async () => (writer.confirmed.length >= 50 ? true : undefined), 30_000);
                const container = docker.getContainer(node.name);
                await execIn(container, ["rm", "-rf", "/data/appendonlydir", "/data/dump.rdb", "/data/conf"]);
                await container.kill();
                await startContainer(docker, node.name);
                newMaster = (
                    await waitFor(
                        `one master, not the emptied ${node.name}, which replicates it`,
                        async () => {
                            const assessment = await assessUntilHealthy(description, 0);
                            return assessment.healthy && assessment.master !== master ? assessment.master! : undefined;
                        },
                        120_000,
                        1000,
                    )
                ).value;
            } finally {
                await writer.stop();
            }
            const log = await logSince(docker, node.name, mark);
            expect(log).toContain(`starting as replica of ${newMaster}`);
            expect(log).not.toMatch(/\] \S+: starting as master$/m);
            const lost = await missingWrites(description, newMaster, writer.confirmed);
            console.log(
                `e2e ${engine} empty master: ${node.name} -> ${newMaster}, ${writer.confirmed.length} confirmed, ${lost} lost, longest gap ${longestGap(writer.confirmed)} ms`,
            );
            expect(lost).toBe(0);
        }, 240_000);
    });
});
