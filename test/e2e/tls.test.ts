/**
 * TLS in containers (tlsEnabled, with a client certificate and the exporters on): the program's certificates (real
 * PEM from the mock engine) deployed by the deployer, the health checks and the entrypoint speaking TLS, a
 * plain-text client refused, and the failover drill (a crash-like pause, then a planned stop, whose handover the
 * entrypoint does over TLS) with a WAIT-confirmed writer over TLS: no confirmed write lost.
 */
import { dockerPause, dockerStop } from "../../tools/drill";
import { ClusterDescription, tlsOptionsOf } from "../../tools/lib/cluster";
import { DrillReport, runFailoverDrill, waitHealthy } from "../../tools/lib/failover";
import { RunningCluster, startCluster } from "../docker/cluster";
import { removeLabelled } from "../docker/deployer";
import { connectEngine } from "../docker/engine";
import { ClusterProbe, containerLog } from "../docker/probe";
import { exporterView, parseMetrics } from "../harness/metrics";
import { plainTextReply, replyOrFirstError } from "../harness/tlsProbes";
import { describeWithEngine, loadProgram } from "./support";

/** One command as admin from the host, over TLS with the stack's CA and client certificate or in plain text. */
const adminCommand = (
    description: ClusterDescription,
    node: { ip: string; port: number },
    tls: boolean,
    ...command: [string, ...string[]]
) =>
    replyOrFirstError(
        node,
        { username: "admin", password: description.passwords.admin },
        tls ? tlsOptionsOf(description) : undefined,
        ...command,
    );

describeWithEngine("TLS in containers", () => {
    let cluster: RunningCluster;
    let description: ClusterDescription;
    const reports: DrillReport[] = [];

    beforeAll(async () => {
        cluster = await startCluster(loadProgram, { tlsEnabled: "true", tlsClientCertificate: "true", metricsEnabled: "true" });
        description = cluster.outputs;
        console.log(`e2e tls: cluster up in ${cluster.upMs} ms`);
    }, 10 * 60_000);

    afterAll(async () => {
        for (const report of reports) {
            console.log(
                `e2e tls drill (${report.how}): failover ${report.failoverMs} ms, longest write gap ${report.writeOutageMs} ms, recovery ${report.recoveryMs} ms, ${report.writesConfirmed} confirmed, ${report.writesLost} lost`,
            );
        }
        await removeLabelled(connectEngine());
    }, 120_000);

    test("every container came up healthy over TLS, and a second deploy would change nothing", async () => {
        for (const name of cluster.deployer.containerNames) {
            expect({ name, health: (await cluster.docker.getContainer(name).inspect()).State.Health?.Status }).toEqual({
                name,
                health: "healthy",
            });
        }
        expect(await cluster.deployer.diff(cluster.program.resources)).toEqual([]);
        // Each Sentinel's entrypoint set its ping period over TLS (SENTINEL DEBUG, as sentinelsentinel).
        for (const sentinel of cluster.outputs.sentinelNodes) {
            const log = await containerLog(cluster.docker, sentinel.name);
            expect({ sentinel: sentinel.name, tuned: /pinging every node every \d+ ms/.test(log) }).toEqual({
                sentinel: sentinel.name,
                tuned: true,
            });
        }
    });

    test("a plain-text client is refused by every node; a TLS client with the stack's CA and certificate is answered", async () => {
        for (const node of [...description.redisNodes, ...description.sentinelNodes]) {
            const plain = await plainTextReply(node);
            expect({ node: node.name, plain }).not.toMatchObject({ plain: expect.stringMatching(/^[+-]/) });
            expect({ node: node.name, tls: await adminCommand(description, node, true, "PING") }).toEqual({
                node: node.name,
                tls: "PONG",
            });
        }
        expect(await adminCommand(description, description.redisNodes[0], false, "PING")).not.toBe("PONG");
    });

    test.each([
        ["a crash-like pause", dockerPause],
        ["a planned stop (the entrypoint hands over over TLS)", dockerStop],
    ])(
        "the failover drill over TLS, %s: a new master, and no confirmed write lost",
        async (_, fault) => {
            await waitHealthy(description, 60_000);
            const report = await runFailoverDrill(description, fault(cluster.docker), { timeoutMs: 60_000 });
            reports.push(report);
            expect(report.newMaster).not.toBe(report.oldMaster);
            expect(report.writesConfirmed).toBeGreaterThan(0);
            expect(report.writesLost).toBe(0);
        },
        4 * 60_000,
    );

    test("every exporter reaches its node over TLS and reports the role ROLE gives", async () => {
        const probe = await ClusterProbe.start(cluster.docker, cluster.imageId, cluster.outputs, "192.168.55.31");
        await waitHealthy(description, 60_000);
        for (const { node, kind, target } of cluster.outputs.metricsTargets) {
            const [ip, port] = target.split(":");
            const view = exporterView(parseMetrics(await probe.httpGet(ip, Number(port), "/metrics")));
            expect({ node, up: view.up }).toEqual({ node, up: 1 });
            if (kind === "redis") {
                const redis = description.redisNodes.find((candidate) => candidate.name === node)!;
                const [role] = (await adminCommand(description, redis, true, "ROLE")) as string[];
                expect({ node, role: view.role }).toEqual({ node, role });
            }
        }
    }, 120_000);
});
