/**
 * The exporters in containers: with metricsEnabled, the program's exporter image (built from exporter-image/ on the
 * offline Debian base) runs beside every node, and each exporter reports `redis_up 1` and the role that ROLE gives,
 * before a failover, while its node is down (`redis_up 0`), and after the node has come back as a replica.
 */
import { loadSettings, overridingReader } from "../../settings";
import { e2eStackConfig, RunningCluster, startCluster } from "../docker/cluster";
import { removeLabelled } from "../docker/deployer";
import { connectEngine } from "../docker/engine";
import { ClusterProbe } from "../docker/probe";
import { exporterView, parseMetrics } from "../harness/metrics";
import {
    addressOf,
    agreedMaster,
    describeWithEngine,
    isReplicaOf,
    loadProgram,
    nodeAt,
    startContainer,
    waitFor,
} from "./support";

const downAfter = loadSettings(overridingReader(e2eStackConfig)).topology.downAfterMilliseconds;

describeWithEngine("Prometheus exporters in containers", () => {
    let cluster: RunningCluster;
    let probe: ClusterProbe;

    beforeAll(async () => {
        cluster = await startCluster(loadProgram, { metricsEnabled: "true" });
        probe = await ClusterProbe.start(cluster.docker, cluster.imageId, cluster.outputs, "192.168.55.31");
    }, 10 * 60_000);

    afterAll(async () => {
        await removeLabelled(connectEngine());
    }, 120_000);

    /** What each exporter says, by the node it watches. */
    const views = async () => {
        const { outputs } = cluster;
        return Object.fromEntries(
            await Promise.all(
                outputs.metricsTargets.map(async ({ node, target }) => {
                    const [ip, port] = target.split(":");
                    const text = await probe.httpGet(ip, Number(port), "/metrics").catch(() => "");
                    return [node, exporterView(parseMetrics(text))] as const;
                }),
            ),
        );
    };
    /** ROLE of each Redis node ("master" or "slave"; "down" when it does not answer). */
    const roles = async () =>
        Object.fromEntries(
            await Promise.all(
                cluster.outputs.redisNodes.map(
                    async (node) => [node.name, (await probe.cli("admin", node, "ROLE").catch(() => ["down"]))[0]] as const,
                ),
            ),
        );
    /** The nodes whose exporter disagrees with ROLE (or with `master`, on a Sentinel); a node that is down must show redis_up 0. */
    const disagreeing = async (master: string) => {
        const [seen, actual] = await Promise.all([views(), roles()]);
        const wrong = cluster.outputs.metricsTargets
            .filter(({ node, kind }) => {
                const view = seen[node];
                if (kind === "sentinel") {
                    return view.up !== 1 || view.sentinelMaster !== master;
                }
                return actual[node] === "down" ? view.up !== 0 : view.up !== 1 || view.role !== actual[node];
            })
            .map(({ node }) => node);
        return { wrong, seen, actual };
    };
    const agreeWith = async (what: string, master: string, timeoutMs: number) => {
        let last: Awaited<ReturnType<typeof disagreeing>> | undefined;
        return waitFor(
            what,
            async () => {
                last = await disagreeing(master);
                return last.wrong.length === 0 ? last : undefined;
            },
            timeoutMs,
            500,
        ).catch((error: Error) => {
            throw new Error(`${error.message}: ${JSON.stringify(last)}`);
        });
    };

    test("deploys one healthy exporter per node, which the next deploy would leave alone, with no password in its settings", async () => {
        const { outputs, docker, deployer, program } = cluster;
        expect(outputs.metricsTargets.map(({ node }) => node)).toEqual([
            ...outputs.redisNodes.map((node) => node.name),
            ...outputs.sentinelNodes.map((node) => node.name),
        ]);
        for (const { node } of outputs.metricsTargets) {
            const inspected = await docker.getContainer(`${node}-exporter`).inspect();
            expect(inspected.State.Health?.Status).toBe("healthy");
            const settings = JSON.stringify([inspected.Config.Env, inspected.Config.Cmd, inspected.Config.Entrypoint]);
            expect(Object.values(outputs.passwords).filter((password) => settings.includes(password))).toEqual([]);
        }
        expect(await deployer.diff(program.resources)).toEqual([]);
    });

    test(
        "every exporter reports redis_up 1 and the role ROLE gives, before and after a failover, and redis_up 0 while its node is down",
        async () => {
            const { outputs, docker } = cluster;
            const master = outputs.redisNodes[0];
            const before = await agreeWith("every exporter to agree with ROLE", addressOf(master), 30_000);
            expect(Object.values(before.value.actual).sort()).toEqual(["master", "slave", "slave"]);

            await docker.getContainer(master.name).kill();
            const killedAt = Date.now();
            const elected = await waitFor(
                "the Sentinels to agree on a new master",
                async () => {
                    const agreed = await agreedMaster(probe, outputs).catch(() => undefined);
                    return agreed !== undefined && agreed !== addressOf(master) ? agreed : undefined;
                },
                downAfter + 30_000,
            );
            const during = await agreeWith("the exporters to follow the failover", elected.value, 30_000);
            expect(during.value.seen[master.name].up).toBe(0);
            expect(during.value.seen[nodeAt(outputs, elected.value).name].role).toBe("master");

            await startContainer(docker, master.name);
            await waitFor(
                "the old master to rejoin as a replica",
                async () => ((await isReplicaOf(probe, master, elected.value).catch(() => false)) ? true : undefined),
                60_000,
            );
            const after = await agreeWith("the exporters to see the old master as a replica", elected.value, 30_000);
            expect(after.value.seen[master.name]).toMatchObject({ up: 1, role: "slave" });
            console.log(
                `e2e metrics: failover to ${elected.value} ${elected.elapsedMs} ms after the kill; exporters agreed ${during.elapsedMs} ms later (the dead node's at redis_up 0); after the restart, ${after.elapsedMs} ms; ${Date.now() - killedAt} ms in all`,
            );
        },
        5 * 60_000,
    );
});
