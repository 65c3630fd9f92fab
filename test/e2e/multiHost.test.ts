/**
 * The cluster across several machines, on the lab: three real Docker engines, each in a network namespace of its own
 * with its own address (test/lab/lab.ts), plus a fourth, empty, to move a lost host's nodes to. The program runs
 * with `dockerHosts` naming them, one Redis node and one Sentinel per host, and the deployer puts each resource on
 * its host's engine. Then each host fault of issue 18 with a client writing all the time (WAIT 1 for every write):
 * the cluster heals, and no confirmed write is lost.
 */
import { loadSettings, overridingReader } from "../../settings";
import { ClusterDescription } from "../../tools/lib/cluster";
import { longestGap, missingWrites, startConfirmingWriter, waitHealthy } from "../../tools/lib/failover";
import { e2eStackConfig } from "../docker/cluster";
import { execIn } from "../docker/exec";
import { containerLog } from "../docker/probe";
import { engineRequired } from "../docker/engine";
import { labStackConfig, LabCluster, startLabCluster, threeHostPlacement } from "../lab/cluster";
import { labUnavailableReason } from "../lab/lab";
import { describeReport, HostFault, hostOf, isLinkedReplicaOf, runHostFault } from "../../tools/lib/hostFault";
import { hostDrill } from "../../tools/drill";
import { loadProgram, waitFor } from "./support";

const { downAfterMilliseconds: downAfter, failoverTimeout } = loadSettings(overridingReader(e2eStackConfig)).topology;
/** A frozen Sentinel stays in TILT for 30 s after it thaws; a failover may be retried once; then a full sync. */
const healBoundMs = 30_000 + 2 * failoverTimeout + 30_000;
const failoverBoundMs = downAfter + 3000;
/**
 * The longest write gap of a rolling update: one handover of the master (measured 1.38-1.96 s across the lab in four
 * runs; the target is 2 s). The bound is the single-host update test's (test/e2e/maintenance.test.ts), because on
 * this 2-core machine one handover has taken up to 2.1 s there.
 */
const updateGapBoundMs = 2500;

/** The multi-host suite when the lab can run. In CI its absence fails the run; elsewhere it skips, with a warning. */
function describeWithLab(name: string, suite: () => void): void {
    const unavailable = labUnavailableReason();
    if (unavailable && engineRequired()) {
        throw new Error(`${unavailable} - CI is set, so the multi-host tests must run (see .ci/run)`);
    }
    if (unavailable) {
        console.warn(`multi-host e2e: skipped, ${unavailable}`);
        describe.skip(name, suite);
    } else {
        describe(name, suite);
    }
}

/** Metrics on: each exporter on its node's host, the Redis nodes' at 9121 and the Sentinels' at 9122. */
const metricsConfig = {
    metricsEnabled: "true",
    metricsExporters: JSON.stringify(
        Object.keys(threeHostPlacement).map((node) => `${node}=${node.startsWith("redis") ? 9121 : 9122}`),
    ),
};

describeWithLab("across three Docker hosts (the lab): every host fault heals, no confirmed write is lost", () => {
    let cluster: LabCluster;
    let description: ClusterDescription;
    const figures: string[] = [];

    beforeAll(async () => {
        cluster = await startLabCluster(loadProgram, ["dc1", "dc2", "dc3", "dc4"], threeHostPlacement, metricsConfig);
        description = cluster.outputs as unknown as ClusterDescription;
        console.log(`multi-host e2e: cluster up across dc1-dc3 in ${cluster.upMs} ms`);
    }, 600_000);

    afterAll(async () => {
        console.log(`multi-host e2e figures:\n  ${figures.join("\n  ")}`);
        await cluster?.stop();
    }, 120_000);

    test("each node runs on its host's engine, listening at the host's address, and the Sentinels agree", async () => {
        for (const [node, host] of Object.entries(threeHostPlacement)) {
            const engine = cluster.lab.host(host).docker;
            const { State, HostConfig } = await engine.getContainer(node).inspect();
            expect({ node, running: State.Running, network: HostConfig.NetworkMode }).toEqual({
                node,
                running: true,
                network: "host",
            });
            for (const other of cluster.lab.hosts.filter((candidate) => candidate.name !== host)) {
                expect((await other.docker.listContainers({ all: true })).map((info) => info.Names[0])).not.toContain(`/${node}`);
            }
        }
        const master = await waitHealthy(description, healBoundMs);
        expect(master).toBe("10.77.0.11:6379");
        // The replicas replicate across the bridge, from the master's host address.
        for (const replica of description.redisNodes.slice(1)) {
            expect(await isLinkedReplicaOf(description, replica, master)).toBe(true);
        }
    });

    test("each node's exporter serves its metrics from the node's host, at its own port", async () => {
        const targets = cluster.outputs.metricsTargets;
        expect(targets.map((target) => `${target.node}@${target.target}`).sort()).toEqual(
            Object.entries(threeHostPlacement)
                .map(([node, host]) => `${node}@${cluster.lab.host(host).address}:${node.startsWith("redis") ? 9121 : 9122}`)
                .sort(),
        );
        for (const target of targets) {
            const body = await waitFor(
                `${target.node}'s exporter to report redis_up 1`,
                async () => {
                    const text = await (await fetch(`http://${target.target}/metrics`)).text();
                    return /^redis_up 1$/m.test(text) ? text : undefined;
                },
                30_000,
                500,
            );
            expect(body.value).toMatch(/^redis_up 1$/m);
        }
    });

    test("a replica's host frozen (its Sentinel too), by npm run drill -- --host: no failover, no write gap above 1 s", async () => {
        const master = await waitHealthy(description, healBoundMs);
        const host = ["dc1", "dc2", "dc3"].find((candidate) => candidate !== hostOf(description, master))!;
        // The drill's own code: it reaches the host's engine through the endpoint in the stack's `hosts` output.
        const report = await hostDrill(description, host, failoverBoundMs);
        figures.push(describeReport("replica's host frozen", report));
        expect(report.newMaster).toBe(report.oldMaster);
        expect(report.lost).toBe(0);
        expect(report.writeGapMs).toBeLessThanOrEqual(1000);
    }, 300_000);

    /**
     * A fault of the master's host that the Sentinels of the other hosts must fail over within the bound, after
     * which its old master is a linked replica of the new one, with no confirmed write lost.
     */
    const masterHostFault = async (what: string, fault: HostFault) => {
        const report = await runHostFault(description, fault, {
            pickHost: (master) => hostOf(description, master),
            expectFailover: true,
            failoverBoundMs,
            healBoundMs,
        });
        figures.push(describeReport(what, report));
        expect(report.newMaster).not.toBe(report.oldMaster);
        expect(report.failoverMs).toBeLessThanOrEqual(failoverBoundMs);
        expect(report.lost).toBe(0);
        const oldMaster = description.redisNodes.find((node) => `${node.ip}:${node.port}` === report.oldMaster)!;
        expect(await isLinkedReplicaOf(description, oldMaster, report.newMaster)).toBe(true);
    };

    test(
        `the master's host frozen: the other hosts fail over within downAfterMilliseconds + 3 s (${failoverBoundMs} ms), and it rejoins as replicas`,
        () =>
            masterHostFault("master's host frozen", {
                inflict: (host) => cluster.lab.freeze(host),
                undo: (host) => cluster.lab.thaw(host),
            }),
        300_000,
    );

    test("the master's host cut off the network for 30 s: it refuses writes within 3 s, the majority fails over, and it returns as a replica", async () => {
        let refusedAfterMs = -1;
        const report = await runHostFault(
            description,
            {
                inflict: (host) => cluster.lab.cut(host),
                // A client on the isolated host itself (through its engine, not the network) sees the old master
                // refuse writes once its replicas have been silent for min-replicas-max-lag.
                during: async (host, cutAt) => {
                    const node = description.redisNodes.find(
                        (candidate) => hostOf(description, `${candidate.ip}:${candidate.port}`) === host,
                    )!;
                    const container = cluster.lab.host(host).docker.getContainer(node.name);
                    const refused = await waitFor(
                        `${node.name}, cut off, to refuse writes`,
                        async () => {
                            const { stdout } = await execIn(
                                container,
                                [
                                    "redis-cli",
                                    "--no-auth-warning",
                                    "-p",
                                    String(node.port),
                                    "--user",
                                    description.appUser,
                                    "SET",
                                    "e2e:isolated",
                                    "1",
                                ],
                                [`REDISCLI_AUTH=${description.passwords.app}`],
                                5000,
                            );
                            return /NOREPLICAS/.test(stdout) ? Date.now() : undefined;
                        },
                        30_000,
                        100,
                    );
                    refusedAfterMs = refused.value - cutAt;
                },
                undo: (host) => cluster.lab.reconnect(host),
            },
            {
                pickHost: (master) => hostOf(description, master),
                expectFailover: true,
                holdMs: 30_000,
                failoverBoundMs,
                healBoundMs,
            },
        );
        figures.push(
            `${describeReport("master's host cut off for 30 s", report)}; it refused writes ${refusedAfterMs} ms after the cut`,
        );
        expect(report.newMaster).not.toBe(report.oldMaster);
        expect(report.failoverMs).toBeLessThanOrEqual(failoverBoundMs);
        expect(refusedAfterMs).toBeGreaterThanOrEqual(0);
        expect(refusedAfterMs).toBeLessThanOrEqual(3000);
        expect(report.lost).toBe(0);
    }, 300_000);

    test(
        "the master's host powered off, then on with its volumes: failover, and its nodes come back as replicas with the dataset",
        () =>
            masterHostFault("master's host powered off and on", {
                inflict: (host) => cluster.lab.powerOff(host),
                undo: (host) => cluster.lab.powerOn(host),
            }),
        300_000,
    );

    test(`a rolling pulumi up replaces every container across the three hosts, one at a time, within ${updateGapBoundMs} ms of write gap`, async () => {
        const changed = await cluster.rerun({ minReplicasMaxLag: "2", failoverTimeout: "16000" }, loadProgram);
        await waitHealthy(description, healBoundMs);
        const writer = startConfirmingWriter(description, 20, Date.now() + 10 * 60_000);
        const started = Date.now();
        let steps;
        try {
            steps = await cluster.deployer.update(changed.resources);
        } finally {
            await writer.stop();
        }
        const master = await waitHealthy(description, healBoundMs);
        const lost = await missingWrites(description, master, writer.confirmed);
        const gap = longestGap(writer.confirmed);
        figures.push(
            `rolling update across hosts: ${Date.now() - started} ms, longest write gap ${gap} ms, ${writer.confirmed.length} confirmed, ${lost} lost`,
        );
        // Every node replaced; the exporters, which take nothing from their nodes, left alone.
        expect(steps.map((step) => `${step.name}:${step.op}`).sort()).toEqual(
            Object.keys(threeHostPlacement)
                .flatMap((node) => [`${node}:replace`, `${node}-exporter:same`])
                .sort(),
        );
        expect(lost).toBe(0);
        expect(gap).toBeLessThanOrEqual(updateGapBoundMs);
    }, 600_000);

    test("a host lost for good: pulumi up moves its nodes to a fourth host, where the Redis node joins as a replica with every confirmed write", async () => {
        const master = await waitHealthy(description, healBoundMs);
        const lostHost = hostOf(description, master);
        const writer = startConfirmingWriter(description, 20, Date.now() + 10 * 60_000);
        let moved: ClusterDescription;
        try {
            await waitFor("a confirmed write", async () => (writer.confirmed.length > 0 ? true : undefined), 30_000);
            await cluster.lab.powerOff(lostHost);
            // The operator's part for a host that will not come back: forget what the state holds there (pulumi state
            // delete), then move its nodes (README, "Retiring a host").
            const forgotten = cluster.deployer.forgetHost(`docker-${lostHost}`);
            expect(forgotten.sort()).toEqual(
                Object.entries(threeHostPlacement)
                    .filter(([, host]) => host === lostHost)
                    .flatMap(([node]) => [node, `${node}-exporter`])
                    .sort(),
            );
            const placement = Object.fromEntries(
                Object.entries(threeHostPlacement).map(([node, host]) => [node, host === lostHost ? "dc4" : host]),
            );
            const program = await cluster.rerun(
                { ...labStackConfig(cluster.lab, placement), minReplicasMaxLag: "2", failoverTimeout: "16000" },
                loadProgram,
            );
            moved = program.outputs as unknown as ClusterDescription;
            await cluster.deployer.update(program.resources);
        } finally {
            await writer.stop();
        }
        const newMaster = await waitHealthy(moved, healBoundMs);
        const movedNode = moved.redisNodes.find((node) => (node as { host?: string }).host === "dc4")!;
        expect(movedNode).toBeDefined();
        // It started empty and joined as a replica with a full sync (the rolling update may since have handed the
        // master role to it, so its role now is either).
        const log = await containerLog(cluster.lab.host("dc4").docker, movedNode.name);
        const synced = log.indexOf("MASTER <-> REPLICA sync: Finished with success");
        const promoted = log.indexOf("MASTER MODE enabled");
        expect(synced).toBeGreaterThanOrEqual(0);
        expect({ promotedBeforeSync: promoted !== -1 && promoted < synced }).toEqual({ promotedBeforeSync: false });
        // Every write the client saw confirmed, on the new master and on the node that started empty on dc4.
        expect(await missingWrites(moved, newMaster, writer.confirmed)).toBe(0);
        expect(await missingWrites(moved, `${movedNode.ip}:${movedNode.port}`, writer.confirmed)).toBe(0);
        figures.push(
            `host ${lostHost} lost for good: its nodes moved to dc4, ${movedNode.name} joined as a replica and holds all ${writer.confirmed.length} confirmed writes (master now ${newMaster}), longest write gap ${longestGap(writer.confirmed)} ms`,
        );
    }, 600_000);
});
