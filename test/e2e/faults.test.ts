/**
 * The fault matrix, on the program's containers on a real Docker engine. For each fault a client writes all the time,
 * confirming every write with WAIT 1, and follows the Sentinels. The suite checks that the cluster heals within a
 * bound (exactly one master, every Sentinel naming it and seeing every replica and every other Sentinel up, every
 * replica linked) and that every confirmed write is on every node afterwards; it reports each fault's longest write
 * gap and healing time. One cluster for the whole file; each fault starts from the healed state the last one left.
 */
import Docker from "dockerode";
import { loadSettings, overridingReader } from "../../settings";
import { ClusterOutputs, e2eStackConfig, RunningCluster, startCluster } from "../docker/cluster";
import { removeLabelled } from "../docker/deployer";
import { connectEngine } from "../docker/engine";
import { execIn } from "../docker/exec";
import { ClusterProbe } from "../docker/probe";
import {
    addressOf,
    agreedMaster,
    ConfirmedData,
    ConfirmingWriter,
    describeWithEngine,
    isReplicaOf,
    loadProgram,
    logMark,
    logSince,
    nodeAt,
    nodesClaimingMaster,
    RedisNode,
    sentinelMaster,
    instanceRecords,
    SentinelNode,
    startContainer,
    waitFor,
    waitHealed,
} from "./support";

const { downAfterMilliseconds: downAfter, failoverTimeout } = loadSettings(overridingReader(e2eStackConfig)).topology;
/** How long a fault may take to heal: a failover the Sentinels retry once, plus a full resync. */
const healBoundMs = downAfter + 2 * failoverTimeout + 30_000;

describeWithEngine("faults on a real Docker engine: the cluster heals and no confirmed write is lost", () => {
    let cluster: RunningCluster;
    let docker: Docker;
    let outputs: ClusterOutputs;
    let probe: ClusterProbe;
    const data = new ConfirmedData();
    const results: string[] = [];

    const otherSentinels = (sentinel: SentinelNode) => outputs.sentinelNodes.filter(({ name }) => name !== sentinel.name);

    /** The master that the given Sentinels agree on; throws while they disagree or one does not answer. */
    const agreedAmong = async (sentinels: readonly SentinelNode[]): Promise<RedisNode> =>
        nodeAt(outputs, await agreedMaster(probe, outputs, sentinels));

    const healed = (since: number) => waitHealed(probe, outputs, since, healBoundMs);

    /**
     * Runs one fault with a writer going: `inject` does the damage and returns when it was done (epoch ms); `recover`
     * (optional) undoes what the cluster cannot heal by itself. Then: healed within the bound, writes confirmed again,
     * every confirmed write on every node. Returns the healed master.
     */
    const underFault = async (
        fault: string,
        inject: (master: RedisNode) => Promise<number>,
        recover: (master: RedisNode) => Promise<void> = async () => undefined,
    ): Promise<{ master: RedisNode; before: RedisNode }> => {
        const before = (await healed(Date.now())).value.master;
        const writer = ConfirmingWriter.start(probe, outputs, fault.replace(/\W+/g, "-"));
        let report;
        let heal;
        try {
            await writer.confirms(20);
            const injectedAt = await inject(before);
            await recover(before);
            heal = await healed(injectedAt);
            await writer.confirms(20);
        } finally {
            report = await writer.stop();
        }
        data.addConfirmed(report.confirmed);
        const lost = await data.missingAfterWaiting(probe, outputs.redisNodes, 20_000);
        const line =
            `${fault}: longest write gap ${report.longestGapMs} ms, healed in ${heal.value.healedMs} ms ` +
            `(${before.name} -> ${heal.value.master.name}), ${report.confirmed.size} of ${report.attempts} writes confirmed, ` +
            `${lost.length === 0 ? "0 lost" : lost.join("; ")}`;
        results.push(line);
        console.log(`e2e fault ${line}`);
        expect(lost).toEqual([]);
        return { master: heal.value.master, before };
    };

    /** Waits until the given (running) Sentinels agree on a master other than `master`. */
    const failedOverBy = (sentinels: readonly SentinelNode[], master: RedisNode, what: string) =>
        waitFor(what, async () => ((await agreedAmong(sentinels)).name !== master.name ? true : undefined), healBoundMs);

    /**
     * Makes `target` master through the Sentinels: the other replicas get replica-priority 0 (never promoted) until
     * every Sentinel has seen that in their INFO, then SENTINEL FAILOVER; their priority is restored afterwards.
     */
    const makeMaster = async (target: RedisNode): Promise<void> => {
        const current = (await healed(Date.now())).value.master;
        if (current.name === target.name) {
            return;
        }
        const others = outputs.redisNodes.filter(({ name }) => name !== target.name && name !== current.name);
        const setPriority = (priority: number) =>
            Promise.all(others.map((node) => probe.cli("admin", node, "CONFIG", "SET", "replica-priority", String(priority))));
        await setPriority(0);
        try {
            await waitFor(
                "every Sentinel to see the other replicas' priority 0",
                async () => {
                    for (const sentinel of outputs.sentinelNodes) {
                        const seen = instanceRecords(
                            await probe.cli("admin", sentinel, "SENTINEL", "replicas", outputs.masterName),
                        );
                        const unseen = others.filter(
                            (node) => seen.find((record) => record.name === addressOf(node))?.["slave-priority"] !== "0",
                        );
                        if (unseen.length > 0) {
                            return undefined;
                        }
                    }
                    return true;
                },
                30_000,
                1000,
            );
            await probe.cli("admin", outputs.sentinelNodes[0], "SENTINEL", "FAILOVER", outputs.masterName);
            await waitFor(
                `the Sentinels to make ${target.name} master`,
                async () => ((await agreedAmong(outputs.sentinelNodes)).name === target.name ? true : undefined),
                healBoundMs,
            );
        } finally {
            await setPriority(100);
        }
    };

    /**
     * What a returning master's entrypoint says on each way it can come back as a replica of `master`: the Sentinels
     * had already failed it over when it started (slow to come back), they did while it waited for them, or its own
     * guard (`guardSays`) got a replica promoted (back before they noticed).
     */
    const wayBack = (master: RedisNode, guardSays: string) =>
        new RegExp(
            [
                `using the Sentinels' master ${addressOf(master).replace(/\./g, "\\.")}`,
                "the Sentinels failed this node over",
                guardSays,
            ].join("|"),
        );

    /** Empties a Redis node's volume under the running server, as a lost or replaced volume looks from inside. */
    const emptyVolume = async (name: string) => {
        const { exitCode, stderr } = await execIn(docker.getContainer(name), [
            "rm",
            "-rf",
            "/data/appendonlydir",
            "/data/dump.rdb",
            "/data/conf",
        ]);
        if (exitCode !== 0) {
            throw new Error(`could not empty ${name}'s volume: ${stderr}`);
        }
    };

    /** Kills a container (as a crash would) and starts it again at once; returns when it was killed (epoch ms). */
    const killAndStart = async (name: string): Promise<number> => {
        await docker.getContainer(name).kill();
        const killedAt = Date.now();
        await startContainer(docker, name);
        return killedAt;
    };

    beforeAll(async () => {
        cluster = await startCluster(loadProgram);
        ({ docker, outputs } = cluster);
        probe = await ClusterProbe.start(docker, cluster.imageId, outputs, "192.168.55.31");
    }, 8 * 60_000);

    afterAll(async () => {
        console.log(`e2e faults:\n${results.join("\n")}`);
        if (!process.env.E2E_KEEP) {
            await removeLabelled(connectEngine());
        }
    }, 120_000);

    test(
        "the master process is killed and its container comes straight back",
        async () => {
            const marks: Record<string, number> = {};
            const { master, before } = await underFault("master killed", async (master) => {
                marks[master.name] = await logMark(docker, master.name);
                return killAndStart(master.name);
            });
            expect(master.name).not.toBe(before.name);
            // Back before the Sentinels noticed, it hands over; back later, they have failed it over already. Either
            // way it starts as a replica of the new master, never as master.
            const log = await logSince(docker, before.name, marks[before.name]);
            expect(log).not.toMatch(/\] \S+: starting as master$/m);
            expect(log).toContain(`starting as replica of ${addressOf(master)}`);
        },
        4 * 60_000,
    );

    test(
        "the master container is stopped, failed over, and started again",
        async () => {
            const { master, before } = await underFault(
                "master stopped",
                async (master) => {
                    await docker.getContainer(master.name).stop({ t: 10 });
                    return Date.now();
                },
                async (master) => {
                    await failedOverBy(outputs.sentinelNodes, master, "the Sentinels to fail the stopped master over");
                    await startContainer(docker, master.name);
                },
            );
            expect(master.name).not.toBe(before.name);
        },
        4 * 60_000,
    );

    test(
        "the master comes back with an old copy of its volume: a replica is promoted and the newer writes survive",
        async () => {
            const marks: Record<string, number> = {};
            const { master, before } = await underFault("master with an old copy of its volume", async (master) => {
                const container = docker.getContainer(master.name);
                await execIn(container, [
                    "bash",
                    "-c",
                    "rm -rf /tmp/old && mkdir /tmp/old && cp -a /data/appendonlydir /tmp/old/",
                ]);
                // Written after the copy: exactly what an old copy lacks.
                await data.write(probe, master, "after-the-copy", 200, outputs.redisNodes.length - 1);
                marks[master.name] = await logMark(docker, master.name);
                await execIn(container, ["bash", "-c", "rm -rf /data/appendonlydir && cp -a /tmp/old/appendonlydir /data/"]);
                return killAndStart(master.name);
            });
            expect(master.name).not.toBe(before.name);
            const log = await logSince(docker, before.name, marks[before.name]);
            expect(log).toMatch(wayBack(master, "this node went down as master and replica"));
            expect(log).toContain(`starting as replica of ${addressOf(master)}`);
        },
        4 * 60_000,
    );

    test(
        "the master's volume comes back empty: a replica is promoted first",
        async () => {
            const marks: Record<string, number> = {};
            const watched = [...outputs.redisNodes, ...outputs.sentinelNodes].map(({ name }) => name);
            const { master, before } = await underFault("master with an empty volume", async (master) => {
                for (const name of watched) {
                    marks[name] = await logMark(docker, name);
                }
                await emptyVolume(master.name);
                return killAndStart(master.name);
            });
            // Back before the Sentinels noticed, it gets a replica promoted; back later, they have failed it over already.
            // Either way it starts as a replica and copies the data back (the suite checks every confirmed write).
            const log = await logSince(docker, before.name, marks[before.name]);
            expect(log).not.toMatch(/\] \S+: starting as master$/m);
            const [, firstMaster] = /\] \S+: starting as replica of (\S+)$/m.exec(log) ?? [];
            expect(firstMaster).toBeDefined();
            expect(log).toMatch(wayBack(nodeAt(outputs, firstMaster), "this node's volume holds no dataset, but"));
            if (master.name === before.name) {
                // Once seen in CI (not reproduced in 13 runs here): healed with this node master again, after it had
                // copied the data back (0 lost). Only a second failover explains it; what every container said:
                const story = await Promise.all(
                    watched.map(async (name) => `${name}:\n${await logSince(docker, name, marks[name])}`),
                );
                console.log(`e2e fault: ${before.name} is master again after its volume came back empty\n${story.join("\n")}`);
            }
        },
        4 * 60_000,
    );

    test(
        "a replica comes back with an empty volume and copies the data back",
        async () => {
            const { master, before } = await underFault("replica with an empty volume", async (master) => {
                const replica = outputs.redisNodes.find(({ name }) => name !== master.name)!;
                await emptyVolume(replica.name);
                return killAndStart(replica.name);
            });
            expect(master.name).toBe(before.name);
        },
        4 * 60_000,
    );

    test(
        "one Sentinel is down while the master fails: the other two still fail over",
        async () => {
            const down = outputs.sentinelNodes[0];
            const { master, before } = await underFault(
                "one Sentinel down during a master failure",
                async (master) => {
                    await docker.getContainer(down.name).stop({ t: 5 });
                    await docker.getContainer(master.name).pause();
                    return Date.now();
                },
                async (master) => {
                    try {
                        await failedOverBy(
                            otherSentinels(down),
                            master,
                            "the two running Sentinels to fail the frozen master over",
                        );
                    } finally {
                        await docker.getContainer(master.name).unpause();
                        await startContainer(docker, down.name);
                    }
                },
            );
            expect(master.name).not.toBe(before.name);
        },
        4 * 60_000,
    );

    test(
        "a majority of the Sentinels is down with the master: no failover happens, and the master takes writes again once it is back",
        async () => {
            const [running, ...down] = outputs.sentinelNodes;
            const { master, before } = await underFault(
                "a majority of Sentinels down with the master",
                async (master) => {
                    await Promise.all(down.map(({ name }) => docker.getContainer(name).stop({ t: 5 })));
                    await docker.getContainer(master.name).pause();
                    return Date.now();
                },
                async (master) => {
                    try {
                        // Twice the time a failover would need, sampled: all along, the lone Sentinel names the frozen
                        // master and no node claims the role.
                        const until = Date.now() + 2 * (downAfter + 5000);
                        const samples: string[] = [];
                        await waitFor(
                            "the window in which a failover would have happened to pass",
                            async () => {
                                const named = await sentinelMaster(probe, running, outputs.masterName).catch(String);
                                const claiming = await nodesClaimingMaster(probe, outputs);
                                samples.push(`${named} [${claiming.join(",")}]`);
                                return Date.now() >= until || undefined;
                            },
                            2 * (downAfter + 5000) + 30_000,
                            500,
                        );
                        expect(samples.length).toBeGreaterThanOrEqual(3);
                        expect(new Set(samples)).toEqual(new Set([`${addressOf(master)} []`]));
                    } finally {
                        await docker.getContainer(master.name).unpause();
                        await Promise.all(down.map(({ name }) => startContainer(docker, name)));
                    }
                },
            );
            expect(master.name).toBe(before.name);
        },
        4 * 60_000,
    );

    test(
        "a Sentinel comes back with an empty volume while the other two are down: it decides no node's role, and follows the others once they are back",
        async () => {
            const rendered = outputs.redisNodes[0];
            const [lone, ...down] = outputs.sentinelNodes;
            // The rendered initial master must have been failed over, or the lone Sentinel's stale answer is right by chance.
            if ((await healed(Date.now())).value.master.name === rendered.name) {
                await probe.cli("admin", lone, "SENTINEL", "FAILOVER", outputs.masterName);
                await failedOverBy(outputs.sentinelNodes, rendered, `the Sentinels to fail ${rendered.name} over on request`);
            }
            let mark = 0;
            const { master, before } = await underFault(
                "a Sentinel recreated empty while the others are down",
                async () => {
                    await Promise.all(down.map(({ name }) => docker.getContainer(name).stop({ t: 5 })));
                    const sentinel = docker.getContainer(lone.name);
                    await execIn(sentinel, ["rm", "-rf", "/data/conf"]);
                    const injectedAt = await killAndStart(lone.name);
                    await waitFor(
                        `the emptied ${lone.name} to name the rendered initial master ${rendered.name}`,
                        async () => (await sentinelMaster(probe, lone, outputs.masterName)) === addressOf(rendered) || undefined,
                        30_000,
                    );
                    // The node it names restarts now: it must not believe the lone Sentinel.
                    mark = await logMark(docker, rendered.name);
                    await killAndStart(rendered.name);
                    return injectedAt;
                },
                async (master) => {
                    try {
                        await waitFor(
                            `${rendered.name} to start as a replica of ${master.name}, not as master`,
                            async () => (await isReplicaOf(probe, rendered, addressOf(master))) || undefined,
                            30_000,
                        );
                        expect(await nodesClaimingMaster(probe, outputs)).toEqual([master.name]);
                    } finally {
                        await Promise.all(down.map(({ name }) => startContainer(docker, name)));
                    }
                },
            );
            expect(master.name).toBe(before.name);
            const log = await logSince(docker, rendered.name, mark);
            expect(log).toContain(
                `only 1 of ${outputs.sentinelNodes.length} Sentinels answered and none has recorded a failover: not enough to trust their master`,
            );
            expect(log).toContain(`starting as replica of ${addressOf(master)}`);
        },
        4 * 60_000,
    );

    test(
        "every container is restarted at once while the master's volume is empty: it finds the cluster's history (a peer's data or a recorded failover), waiting for its peers if need be, and gets a replica promoted",
        async () => {
            // The rendered initial master, so that the emptied node cannot fall back on a rendered replica role.
            await makeMaster(outputs.redisNodes[0]);
            let mark = 0;
            const { master, before } = await underFault(
                "every container restarted at once, the master's volume empty",
                async (master) => {
                    mark = await logMark(docker, master.name);
                    await emptyVolume(master.name);
                    const restartedAt = Date.now();
                    // The emptied master is killed (a graceful stop would save a fresh RDB to the volume); the rest restart.
                    await Promise.all(
                        cluster.deployer.containerNames.map(async (name) => {
                            if (name === master.name) {
                                await killAndStart(name);
                            } else {
                                await docker.getContainer(name).restart({ t: 10 });
                            }
                        }),
                    );
                    return restartedAt;
                },
            );
            expect(before.name).toBe(outputs.redisNodes[0].name);
            expect(master.name).not.toBe(before.name);
            // Whether a Sentinel answered in time or not, the node is its own master by both the Sentinels and the
            // rendered config: only its guard, which asks the peers (waiting for them if need be), keeps it a replica.
            const log = await logSince(docker, before.name, mark);
            expect(log).toContain("this node's volume holds no dataset, but ");
            expect(log).not.toMatch(/\] \S+: starting as master$/m);
            console.log(
                `e2e restart with the master emptied: ${log
                    .split("\n")
                    .filter((line) => line.startsWith("entrypoint"))
                    .join(" | ")}`,
            );
        },
        5 * 60_000,
    );

    test(
        "every container is restarted at once",
        async () => {
            await underFault("every container restarted at once", async () => {
                const restartedAt = Date.now();
                await Promise.all(cluster.deployer.containerNames.map((name) => docker.getContainer(name).restart({ t: 10 })));
                return restartedAt;
            });
        },
        5 * 60_000,
    );
});
