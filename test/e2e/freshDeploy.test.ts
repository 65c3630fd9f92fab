/**
 * A new cluster can fail over from its first second: the master is frozen within a second of the deployment finishing
 * (every container healthy), five times on five fresh deployments. Before the Sentinels were rendered their peers and
 * given the declared replicas, 2 runs of 3 never failed over: a Sentinel learned the replicas only from the master's
 * INFO, every 10 s, and a master frozen before that left it no candidate (-failover-abort-no-good-slave).
 */
import Docker from "dockerode";
import { loadSettings, overridingReader } from "../../settings";
import { ClusterOutputs, e2eStackConfig, startCluster } from "../docker/cluster";
import { removeLabelled } from "../docker/deployer";
import { connectEngine } from "../docker/engine";
import { ClusterProbe } from "../docker/probe";
import { addressOf, agreedMaster, describeWithEngine, loadProgram, waitFor } from "./support";

const runs = 5;
const downAfter = loadSettings(overridingReader(e2eStackConfig)).topology.downAfterMilliseconds;

describeWithEngine("a freshly deployed cluster", () => {
    afterAll(async () => {
        await removeLabelled(connectEngine());
    }, 120_000);

    test(
        `fails over a master frozen within 1 s of the deployment, ${runs} times of ${runs}`,
        async () => {
            const results: string[] = [];
            for (let run = 1; run <= runs; run++) {
                const cluster = await startCluster(loadProgram);
                const deployedAt = Date.now();
                const docker: Docker = cluster.docker;
                const outputs: ClusterOutputs = cluster.outputs;
                const master = outputs.redisNodes[0];
                await docker.getContainer(master.name).pause();
                const frozenAt = Date.now();
                const frozenAfterMs = frozenAt - deployedAt;
                try {
                    expect(frozenAfterMs).toBeLessThan(1000);
                    const probe = await ClusterProbe.start(docker, cluster.imageId, outputs, "192.168.55.31");
                    await waitFor(
                        "the Sentinels to agree on a new master",
                        async () => ((await agreedMaster(probe, outputs)) !== addressOf(master) ? true : undefined),
                        downAfter + 20_000,
                    );
                    const failoverMs = Date.now() - frozenAt;
                    results.push(
                        `run ${run}: frozen ${frozenAfterMs} ms after deploy, failed over ${failoverMs} ms after the freeze`,
                    );
                    expect(failoverMs).toBeLessThanOrEqual(downAfter + 5000);
                } finally {
                    await docker
                        .getContainer(master.name)
                        .unpause()
                        .catch(() => undefined);
                }
            }
            console.log(`e2e fresh deploy: ${results.join("; ")}`);
        },
        runs * 3 * 60_000,
    );
});
