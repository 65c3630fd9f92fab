/**
 * The program's containers on a real Docker engine: the seed's failover drill, then the restarts and replacements users
 * actually do. One cluster for the whole file; each step builds on the state the previous one left.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import Docker from "dockerode";
import {
    ClusterOutputs,
    RunningCluster,
    sentinelInfoPeriodMs,
    sentinelPingPeriodMs,
    sentinelPublishPeriodMs,
    startCluster,
} from "../docker/cluster";
import { removeLabelled } from "../docker/deployer";
import { connectEngine } from "../docker/engine";
import { ensureNodeImage } from "../docker/images";
import { execIn } from "../docker/exec";
import { ClusterProbe, containerLog } from "../docker/probe";
import { e2eLabel } from "../docker/deployer";
import { sentinelMyid } from "../../render";
import {
    addressOf,
    agreedMaster,
    ConfirmedData,
    describeWithEngine,
    isReplicaOf,
    loadProgram,
    logMark,
    logSince,
    nodeAt,
    nodesClaimingMaster,
    RedisNode,
    runClientContainer,
    runToExit,
    sentinelMasterFields,
    SentinelNode,
    startContainer,
    waitFor,
} from "./support";

/** The seed's example of another container on the network. */
const clientIp = "192.168.55.30";
const probeIp = "192.168.55.31";
/** The container example's address (examples/container/compose.yaml takes it as EXAMPLE_IP). */
const exampleIp = "192.168.55.32";
/** Lines that mean a server could not save its config or a user lacks a right: the seed's pitfalls. */
const forbiddenLogLines = /not writable|Permission denied|Device or resource busy|NOPERM/;

const execFileAsync = promisify(execFile);

describeWithEngine("the cluster on a real Docker engine", () => {
    let cluster: RunningCluster;
    let docker: Docker;
    let outputs: ClusterOutputs;
    let probe: ClusterProbe;
    const data = new ConfirmedData();
    /** Logs of containers that a replacement removed, for the final log check. */
    const removedLogs: { name: string; log: string }[] = [];

    const node = (address: string): RedisNode => nodeAt(outputs, address);
    const currentMaster = async () =>
        node((await waitFor("the Sentinels to agree on a master", () => agreedMaster(probe, outputs), 30_000)).value);
    const expectDataEverywhere = async () =>
        expect(await data.missingAfterWaiting(probe, outputs.redisNodes, 15_000)).toEqual([]);
    /** A per-master Sentinel setting in milliseconds, from a rendered sentinel.conf (these lines carry no secret). */
    const sentinelTiming = (setting: "down-after-milliseconds" | "failover-timeout"): number => {
        const sentinel = cluster.program.one("docker:index/container:Container", outputs.sentinelNodes[0].name);
        const conf = (sentinel.inputs.uploads as { file: string; content: string }[]).find((upload) =>
            upload.file.endsWith("sentinel.conf"),
        );
        const value = conf?.content.match(new RegExp(`^sentinel ${setting} \\S+ (\\d+)$`, "m"))?.[1];
        if (value === undefined) {
            throw new Error(`no sentinel ${setting} line in the rendered sentinel.conf`);
        }
        return Number(value);
    };
    const replaceKeepingLog = async (name: string) => {
        removedLogs.push({ name, log: await containerLog(docker, name) });
        await cluster.deployer.replace(name);
    };

    /**
     * The seed's failover walk-through, checked: pause the master, the Sentinels mark it down and elect a new one, the
     * other replica follows (CONFIG REWRITE), unpause, the old master is converted and catches up. Returns the timings.
     */
    const failoverDrill = async (oldMaster: RedisNode, phase: string): Promise<{ summary: string; failoverMs: number }> => {
        const replicas = outputs.redisNodes.filter((redis) => redis.name !== oldMaster.name);
        await data.write(probe, oldMaster, `${phase}-before-failover`, 200, replicas.length);
        const marks = Object.fromEntries(
            await Promise.all(
                [...outputs.redisNodes, ...outputs.sentinelNodes].map(
                    async ({ name }) => [name, await logMark(docker, name)] as const,
                ),
            ),
        );

        const paused = docker.getContainer(oldMaster.name);
        await paused.pause();
        // A failure below must not leave the node frozen for the steps after this one.
        // The Sentinels' events since the pause explain a failover that did not happen (they carry no secret).
        const unpauseOnFailure = async (error: unknown) => {
            await paused.unpause().catch(() => undefined);
            const events = await Promise.all(
                outputs.sentinelNodes.map(async ({ name }) =>
                    (await logSince(docker, name, marks[name]))
                        .split("\n")
                        .filter((line) => / [+-][a-z-]+ /.test(line))
                        .map((line) => `${name}: ${line}`),
                ),
            );
            throw new Error(`${(error as Error).message}\nSentinel events since the pause:\n${events.flat().join("\n")}`);
        };
        const failover = await waitFor(
            "the Sentinels to agree on a new master that has taken the role",
            async () => {
                const agreed = await agreedMaster(probe, outputs);
                if (agreed === addressOf(oldMaster)) {
                    throw new Error(`the Sentinels still agree on ${oldMaster.name}`);
                }
                const role = (await probe.cli("admin", node(agreed), "ROLE"))[0];
                if (role !== "master") {
                    throw new Error(`the Sentinels name ${node(agreed).name}, which is still ${role}`);
                }
                return node(agreed);
            },
            // A Sentinel that finds no replica with fresh INFO aborts and retries after 2 x failover-timeout.
            sentinelTiming("down-after-milliseconds") + 2 * sentinelTiming("failover-timeout") + 20_000,
        ).catch(unpauseOnFailure);
        const newMaster = failover.value;
        const follower = replicas.find((replica) => replica.name !== newMaster.name)!;
        await waitFor(
            `${follower.name} to replicate ${newMaster.name}`,
            async () => (await isReplicaOf(probe, follower, addressOf(newMaster))) || undefined,
            30_000,
        ).catch(unpauseOnFailure);
        const oldMasterEvent = `master ${outputs.masterName} ${oldMaster.ip} ${oldMaster.port}`;
        const switched = `+switch-master ${outputs.masterName} ${oldMaster.ip} ${oldMaster.port} ${newMaster.ip} ${newMaster.port}`;
        const sentinelLogs = await waitFor(
            "every Sentinel to log the switch to the new master",
            async () => {
                const logs = await Promise.all(outputs.sentinelNodes.map(({ name }) => logSince(docker, name, marks[name])));
                return logs.every((log) => log.includes(switched)) ? logs : undefined;
            },
            30_000,
        ).catch(unpauseOnFailure);
        for (const log of sentinelLogs.value) {
            expect(log).toContain(`+sdown ${oldMasterEvent}`);
        }
        expect(sentinelLogs.value.some((log) => log.includes(`+odown ${oldMasterEvent}`))).toBe(true);
        const followerLog = await logSince(docker, follower.name, marks[follower.name]);
        expect(followerLog).toContain(`Connecting to MASTER ${addressOf(newMaster)}`);
        expect(followerLog).toContain("CONFIG REWRITE executed with success");
        await data.write(probe, newMaster, `${phase}-during-outage`, 100, 1).catch(unpauseOnFailure);
        // As in the seed's walk-through: the Sentinels now list the old master as a replica of the new one, and down.
        const oldMasterAsReplica = `slave ${addressOf(oldMaster)} ${oldMaster.ip} ${oldMaster.port} @ ${outputs.masterName} ${newMaster.ip} ${newMaster.port}`;
        await waitFor(
            "a Sentinel to mark the old master down as a replica of the new one",
            async () => {
                const logs = await Promise.all(outputs.sentinelNodes.map(({ name }) => logSince(docker, name, marks[name])));
                return logs.some((log) => log.includes(`+sdown ${oldMasterAsReplica}`)) || undefined;
            },
            30_000,
        ).catch(unpauseOnFailure);

        const unpausedAt = Date.now();
        await docker.getContainer(oldMaster.name).unpause();
        await waitFor(
            `${oldMaster.name} to replicate ${newMaster.name}`,
            async () => (await isReplicaOf(probe, oldMaster, addressOf(newMaster))) || undefined,
            60_000,
        );
        const rejoinedLog = await waitFor(
            `${oldMaster.name} to finish catching up (partial resync, or full sync and AOF rewrite)`,
            async () => {
                const log = await logSince(docker, oldMaster.name, marks[oldMaster.name]);
                const caughtUp =
                    log.includes("Successful partial resynchronization with master") ||
                    (log.includes("MASTER <-> REPLICA sync: Finished with success") &&
                        log.includes("Background AOF rewrite finished successfully"));
                return caughtUp ? log : undefined;
            },
            60_000,
        );
        await data.write(probe, newMaster, `${phase}-after-rejoin`, 100, replicas.length);
        const recoveryMs = Date.now() - unpausedAt;
        expect(rejoinedLog.value).toContain("CONFIG REWRITE executed with success");
        const sentinelLogsAfter = await Promise.all(outputs.sentinelNodes.map(({ name }) => logSince(docker, name, marks[name])));
        expect(sentinelLogsAfter.some((log) => log.includes(`-sdown ${oldMasterAsReplica}`))).toBe(true);
        expect(sentinelLogsAfter.some((log) => log.includes(`+convert-to-slave ${oldMasterAsReplica}`))).toBe(true);
        await expectDataEverywhere();
        const fullSync = rejoinedLog.value.includes("Background AOF rewrite finished successfully");
        const aborted = sentinelLogsAfter.join("").split(`-failover-abort-no-good-slave ${oldMasterEvent}`).length - 1;
        const summary =
            `failover ${failover.elapsedMs} ms (pause ${oldMaster.name} -> Sentinels agree on ${newMaster.name}, down-after ${sentinelTiming("down-after-milliseconds")} ms` +
            (aborted > 0 ? `, ${aborted} attempt(s) aborted with no good replica, retried after 2 x failover-timeout` : "") +
            "), " +
            `recovery ${recoveryMs} ms (unpause -> ${oldMaster.name} replica of ${newMaster.name}, ${fullSync ? "full sync + AOF rewrite" : "partial resync"}, all replicas acknowledge), ` +
            `${data.size} confirmed keys on every node`;
        return { summary, failoverMs: failover.elapsedMs };
    };

    beforeAll(async () => {
        cluster = await startCluster(loadProgram);
        ({ docker, outputs } = cluster);
        probe = await ClusterProbe.start(docker, cluster.imageId, outputs, probeIp);
        console.log(`e2e: cluster up in ${cluster.upMs} ms`);
    }, 8 * 60_000);

    afterAll(async () => {
        if (process.env.E2E_KEEP) {
            console.log("e2e: E2E_KEEP is set, leaving the cluster up for inspection; npm run e2e:down removes it");
            return;
        }
        const removed = await removeLabelled(connectEngine());
        console.log(`e2e: removed ${removed.length} containers, networks and volumes`);
    }, 120_000);

    test("every declared container runs healthy with its uploaded files root-owned, and the Sentinels see the rendered topology", async () => {
        for (const name of cluster.deployer.containerNames) {
            const { State } = await docker.getContainer(name).inspect();
            expect({ name, health: State.Health?.Status }).toEqual({ name, health: "healthy" });
        }
        for (const container of cluster.program.byType("docker:index/container:Container")) {
            const files = (container.inputs.uploads as { file: string }[]).map((upload) => upload.file);
            const { stdout } = await execIn(docker.getContainer(container.name), ["stat", "-c", "%n %U:%G %a", ...files]);
            expect(stdout.trim().split("\n")).toEqual(files.map((file) => `${file} root:root 644`));
        }
        const [initialMaster, ...replicas] = outputs.redisNodes;
        expect((await probe.cli("admin", initialMaster, "ROLE"))[0]).toBe("master");
        for (const replica of replicas) {
            await waitFor(
                `${replica.name} to replicate ${initialMaster.name}`,
                async () => (await isReplicaOf(probe, replica, addressOf(initialMaster))) || undefined,
                20_000,
            );
        }
        for (const sentinel of outputs.sentinelNodes) {
            // The entrypoint has each Sentinel ping every SENTINEL_PING_PERIOD_MS, read INFO every
            // SENTINEL_INFO_PERIOD_MS and say hello every SENTINEL_PUBLISH_PERIOD_MS (SENTINEL DEBUG, runtime only).
            const timers = await probe.cli("admin", sentinel, "SENTINEL", "DEBUG");
            const timer = (name: string) => timers[timers.indexOf(name) + 1];
            expect({
                sentinel: sentinel.name,
                pingPeriod: timer("PING-PERIOD"),
                infoPeriod: timer("INFO-PERIOD"),
                publishPeriod: timer("PUBLISH-PERIOD"),
            }).toEqual({
                sentinel: sentinel.name,
                pingPeriod: String(sentinelPingPeriodMs()),
                infoPeriod: String(sentinelInfoPeriodMs()),
                publishPeriod: String(sentinelPublishPeriodMs()),
            });
            await waitFor(
                `${sentinel.name} to know ${replicas.length} replicas and ${outputs.sentinelNodes.length - 1} other Sentinels`,
                async () => {
                    const field = await sentinelMasterFields(probe, sentinel, outputs.masterName);
                    return field("ip") === initialMaster.ip &&
                        Number(field("num-slaves")) === replicas.length &&
                        Number(field("num-other-sentinels")) === outputs.sentinelNodes.length - 1
                        ? true
                        : undefined;
                },
                30_000,
            );
        }
    }, 90_000);

    test("a second `pulumi up` of the unchanged program would change nothing: every input the provider reads back reads back as declared, and the plan diffs against what was read back", async () => {
        expect(await cluster.deployer.diff(cluster.program.resources)).toEqual([]);
        // The health check as it was written before: the same 60 s, but read back as Go prints it.
        const before = cluster.program.resources.map((resource) =>
            resource.type === "docker:index/container:Container"
                ? {
                      ...resource,
                      inputs: { ...resource.inputs, healthcheck: { ...resource.inputs.healthcheck, startPeriod: "60s" } },
                  }
                : resource,
        );
        const differences = await cluster.deployer.diff(before);
        expect(differences).toHaveLength(cluster.deployer.containerNames.length);
        for (const difference of differences) {
            expect(difference).toMatch(
                /^[\w-]+\.healthcheck: state \{.*"startPeriod":"1m0s".*\}, program \{.*"startPeriod":"60s".*\}$/,
            );
        }
        // The next `up` diffs against the state the provider's Read recorded ("1m0s"), not against the inputs last
        // declared: a program that wrote "60s" would replace every container on every `up`, even unchanged.
        expect(cluster.deployer.plan(cluster.program.resources).filter((step) => step.op !== "same")).toEqual([]);
        expect(cluster.deployer.plan(before)).toEqual(
            cluster.deployer.containerNames.map((name) => ({ name, op: "replace", changed: ["healthcheck"] })),
        );
    }, 60_000);

    test("another container on the network, with a static address, finds the master through the Sentinels and writes as the application user", async () => {
        const { value: log } = await runClientContainer(docker, cluster.imageId, outputs, clientIp);
        expect(log).toContain(`master=${addressOf(outputs.redisNodes[0])}`);
        expect(log).toContain("set=OK");
        expect(log).toContain("get=hello-from-client");
    }, 60_000);

    test("the container example (examples/container/compose.yaml) runs the ioredis example on redisnet at a static address, under docker-compose", async () => {
        expect(outputs.network).toBe("redisnet"); // the compose file names the network as the seed does
        const image = await ensureNodeImage(docker);
        const master = await currentMaster();
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), "container-example-"));
        const outputsFile = path.join(directory, "outputs.json");
        fs.writeFileSync(outputsFile, JSON.stringify(outputs), { mode: 0o600 });
        const compose = (...args: string[]) =>
            execFileAsync("docker-compose", ["-f", "examples/container/compose.yaml", "-p", "redis-example", ...args], {
                cwd: path.join(__dirname, "..", ".."),
                env: { ...process.env, NODE_IMAGE: image, STACK_OUTPUTS: outputsFile, EXAMPLE_IP: exampleIp, RUN_SECONDS: "5" },
                timeout: 120_000,
            }).catch((error: Error & { code?: string | number; stdout?: string; stderr?: string }) => {
                if (error.code === "ENOENT") {
                    throw new Error("docker-compose is not installed (apt-get install docker-compose; .ci/run does)");
                }
                throw new Error(`docker-compose ${args[0]} failed (${error.code}):\n${error.stdout}\n${error.stderr}`);
            });
        try {
            const { stdout } = await compose("up", "--abort-on-container-exit", "--exit-code-from", "example");
            expect(stdout).toContain(`ioredis: connected through the Sentinels; writing to the master ${addressOf(master)}`);
            expect(stdout).toMatch(/ioredis: done: [1-9]\d* writes, 0 failed attempts/);
            for (const secret of Object.values(outputs.passwords)) {
                expect(stdout).not.toContain(secret);
            }
        } finally {
            await compose("down").catch(() => undefined);
            fs.rmSync(directory, { recursive: true, force: true });
        }
    }, 180_000);

    test(
        "failover drill: pausing the master elects a new one, the other replica follows, and the old master rejoins as a replica",
        async () => {
            console.log(`e2e drill: ${(await failoverDrill(outputs.redisNodes[0], "drill")).summary}`);
        },
        4 * 60_000,
    );

    test(
        "replacing the old master's container (same volume and files) brings it back as a replica of the current master, never a second master",
        async () => {
            const master = await currentMaster();
            const oldMaster = outputs.redisNodes[0];
            expect(master.name).not.toBe(oldMaster.name);
            await data.write(probe, master, "before-replace", 100, outputs.redisNodes.length - 1);
            await replaceKeepingLog(oldMaster.name);
            expect(await containerLog(docker, oldMaster.name)).toContain(`using the Sentinels' master ${addressOf(master)}`);
            await waitFor(
                `${oldMaster.name} to replicate ${master.name}`,
                async () => (await isReplicaOf(probe, oldMaster, addressOf(master))) || undefined,
                60_000,
            );
            expect(await nodesClaimingMaster(probe, outputs)).toEqual([master.name]);
            expect((await currentMaster()).name).toBe(master.name);
            await expectDataEverywhere();
        },
        3 * 60_000,
    );

    test(
        "recreating the Sentinels one at a time keeps the current master",
        async () => {
            const master = await currentMaster();
            for (const sentinel of outputs.sentinelNodes) {
                await replaceKeepingLog(sentinel.name);
                expect(await containerLog(docker, sentinel.name)).toContain(`using the Sentinels' master ${addressOf(master)}`);
                await waitFor(
                    `the recreated ${sentinel.name} to monitor ${master.name} with its peers`,
                    async () => {
                        const field = await sentinelMasterFields(probe, sentinel, outputs.masterName);
                        return `${field("ip")}:${field("port")}` === addressOf(master) &&
                            Number(field("num-other-sentinels")) === outputs.sentinelNodes.length - 1 &&
                            Number(field("num-slaves")) === outputs.redisNodes.length - 1
                            ? true
                            : undefined;
                    },
                    60_000,
                );
                expect(await agreedMaster(probe, outputs)).toBe(addressOf(master));
                expect(await nodesClaimingMaster(probe, outputs)).toEqual([master.name]);
            }
            await data.write(probe, master, "after-sentinels", 100, outputs.redisNodes.length - 1);
            await expectDataEverywhere();
        },
        5 * 60_000,
    );

    /** The run ids a Sentinel knows its peers by (SENTINEL SENTINELS), sorted. */
    const peerIds = async (sentinel: SentinelNode) => {
        const lines = await probe.cli("clientsentinel", sentinel, "SENTINEL", "sentinels", outputs.masterName);
        return lines.flatMap((line, index) => (line === "runid" ? [lines[index + 1]] : [])).sort();
    };
    const declaredIds = (sentinel: SentinelNode) =>
        outputs.sentinelNodes
            .filter((peer) => peer.name !== sentinel.name)
            .map((peer) => sentinelMyid(outputs.masterName, peer))
            .sort();
    const fakeRunid = "f".repeat(40);
    /** A hello as a Sentinel publishes it, for a Sentinel that does not exist (on the container's own loopback). */
    const forgedHello = (master: RedisNode) =>
        `127.0.0.1,26999,${fakeRunid},0,${outputs.masterName},${master.ip},${master.port},0`;

    test(
        "the application user cannot forge a Sentinel hello; a fake peer injected as admin is gone after its Sentinel is replaced or reset, and failover works",
        async () => {
            const master = await currentMaster();
            const forged = await probe.tryCli("app", master, ["PUBLISH", "__sentinel__:hello", forgedHello(master)]);
            expect(forged.stdout).toMatch(/^NOPERM/);
            const forgedAt = Date.now();

            // What an application login could do before: admin still can, so inject the fake peer that way.
            await probe.cli("admin", master, "PUBLISH", "__sentinel__:hello", forgedHello(master));
            for (const sentinel of outputs.sentinelNodes) {
                await waitFor(
                    `${sentinel.name} to learn the fake peer`,
                    async () => ((await peerIds(sentinel)).includes(fakeRunid) ? true : undefined),
                    10_000,
                );
            }

            // Replaced: the entrypoint keeps only the declared peers.
            const [replaced, ...reset] = outputs.sentinelNodes;
            await replaceKeepingLog(replaced.name);
            await waitFor(
                `the replaced ${replaced.name} to know exactly the declared peers`,
                async () =>
                    JSON.stringify(await peerIds(replaced)) === JSON.stringify(declaredIds(replaced)) ? true : undefined,
                30_000,
            );
            // Reset, as npm run status advises: one Sentinel at a time, each after it knows its peers and replicas again.
            for (const sentinel of reset) {
                await probe.cli("admin", sentinel, "SENTINEL", "RESET", outputs.masterName);
                await waitFor(
                    `${sentinel.name} to know exactly the declared peers and every replica after SENTINEL RESET`,
                    async () => {
                        const field = await sentinelMasterFields(probe, sentinel, outputs.masterName);
                        const peers = JSON.stringify(await peerIds(sentinel)) === JSON.stringify(declaredIds(sentinel));
                        return peers && Number(field("num-slaves")) === outputs.redisNodes.length - 1 ? true : undefined;
                    },
                    30_000,
                );
            }
            for (const sentinel of outputs.sentinelNodes) {
                expect(await peerIds(sentinel)).toEqual(declaredIds(sentinel));
            }

            const { summary, failoverMs } = await failoverDrill(master, "after-forgery");
            const downAfter = sentinelTiming("down-after-milliseconds");
            console.log(`e2e drill after the forged hello (${Date.now() - forgedAt} ms later): ${summary}`);
            expect(failoverMs).toBeLessThanOrEqual(downAfter + 5000);
        },
        5 * 60_000,
    );

    test(
        "a master cut off the network refuses writes within about 2 s, and rejoins as a replica when reconnected",
        async () => {
            const master = await currentMaster();
            const network = docker.getNetwork(outputs.network);
            // A writer inside the master's container (on loopback, which the cut leaves alone) timestamps every reply.
            const writer = execIn(
                docker.getContainer(master.name),
                [
                    "bash",
                    "-c",
                    'for i in $(seq 1 1500); do r=$(REDISCLI_AUTH="$APP_PASSWORD" timeout 2 redis-cli --no-auth-warning --raw -p "$PORT" --user "$APP_USER" SET e2e:cut "$i" 2>&1); echo "$(date +%s%3N) $r"; [[ "$r" == NOREPLICAS* ]] && break; sleep 0.005; done',
                ],
                [`APP_PASSWORD=${outputs.passwords.app}`, `APP_USER=${outputs.appUser}`, `PORT=${master.port}`],
                60_000,
            );
            await waitFor(
                "the writer to be writing",
                async () => ((await probe.cli("admin", master, "GET", "e2e:cut"))[0] ? true : undefined),
                10_000,
            );
            const cutAt = Date.now();
            await network.disconnect({ Container: master.name, Force: true });
            let reconnected = false;
            const reconnect = async () => {
                if (!reconnected) {
                    reconnected = true;
                    await network.connect({ Container: master.name, EndpointConfig: { IPAMConfig: { IPv4Address: master.ip } } });
                }
            };
            try {
                const lines = (await writer).stdout
                    .trim()
                    .split("\n")
                    .map((line) => line.split(" "));
                const refusal = lines.find(([, reply]) => reply?.startsWith("NOREPLICAS"));
                expect(refusal).toBeDefined();
                const windowMs = Number(refusal![0]) - cutAt;
                const acceptedAfterCut = lines.filter(([at, reply]) => Number(at) > cutAt && reply === "OK").length;
                console.log(
                    `e2e network cut: ${master.name} refused writes ${windowMs} ms after the cut (${acceptedAfterCut} unconfirmed writes accepted meanwhile)`,
                );
                // Up to 3 s by Redis's whole-second accounting, plus the writer's own pace (one redis-cli per write).
                expect(windowMs).toBeLessThanOrEqual(3500);
                const newMaster = (
                    await waitFor(
                        "the Sentinels to fail the cut-off master over",
                        async () => {
                            const agreed = await agreedMaster(probe, outputs);
                            return agreed !== addressOf(master) ? node(agreed) : undefined;
                        },
                        60_000,
                    )
                ).value;
                await reconnect();
                await waitFor(
                    `${master.name} to rejoin as a replica of ${newMaster.name}`,
                    async () => (await isReplicaOf(probe, master, addressOf(newMaster))) || undefined,
                    60_000,
                );
                expect(await nodesClaimingMaster(probe, outputs)).toEqual([newMaster.name]);
                await expectDataEverywhere();
            } finally {
                await reconnect().catch(() => undefined);
            }
        },
        4 * 60_000,
    );

    test(
        "a master that comes back while the Sentinels are failing it over waits for them and starts as a replica, never a second master",
        async () => {
            const master = await currentMaster();
            await data.write(probe, master, "before-comeback", 100, outputs.redisNodes.length - 1);
            const replicas = outputs.redisNodes.filter((redis) => redis.name !== master.name);
            const container = docker.getContainer(master.name);
            const mark = await logMark(docker, master.name);
            // The replicas are frozen first, so the Sentinels cannot promote one: they keep naming the stopped master
            // (marked o_down) for as long as the test needs, instead of the second or so a failover takes.
            await Promise.all(replicas.map(({ name }) => docker.getContainer(name).pause()));
            let frozen = true;
            const thawReplicas = async () => {
                if (frozen) {
                    frozen = false;
                    await Promise.all(replicas.map(({ name }) => docker.getContainer(name).unpause()));
                }
            };
            try {
                await container.stop({ t: 2 });
                await waitFor(
                    "a Sentinel to mark the stopped master o_down",
                    async () => {
                        const field = await sentinelMasterFields(probe, outputs.sentinelNodes[0], outputs.masterName);
                        return field("flags").includes("o_down") || undefined;
                    },
                    30_000,
                );
                expect(await agreedMaster(probe, outputs)).toBe(addressOf(master));
                await container.start();
                await waitFor(
                    `${master.name} to wait for the Sentinels instead of starting`,
                    async () => ((await logSince(docker, master.name, mark)).includes("waiting up to") ? true : undefined),
                    15_000,
                );
                // Still waiting: the node the Sentinels name is not serving, so it is no second master.
                expect(await nodesClaimingMaster(probe, outputs)).toEqual([]);
                await thawReplicas();
                const claims: string[][] = [];
                const newMaster = (
                    await waitFor(
                        `${master.name} to be a replica of the replica the Sentinels promote, never two masters meanwhile`,
                        async () => {
                            const claiming = await nodesClaimingMaster(probe, outputs);
                            claims.push(claiming);
                            const agreed = await agreedMaster(probe, outputs);
                            return agreed !== addressOf(master) && (await isReplicaOf(probe, master, agreed))
                                ? node(agreed)
                                : undefined;
                        },
                        // The Sentinels retry an aborted failover after 2 x failover-timeout.
                        2 * sentinelTiming("failover-timeout") + 30_000,
                        200,
                    )
                ).value;
                expect(claims.filter((claiming) => claiming.length > 1)).toEqual([]);
                const log = await logSince(docker, master.name, mark);
                expect(log).toMatch(/the Sentinels see this node, their master, as [a-z_,]*o_down/);
                expect(log).toContain(`the Sentinels failed this node over to ${addressOf(newMaster)} while it was down`);
                expect(log).toContain(`starting as replica of ${addressOf(newMaster)}`);
                await expectDataEverywhere();
            } finally {
                await thawReplicas();
                await container.start().catch(() => undefined);
            }
        },
        4 * 60_000,
    );

    test(
        "a master whose volume comes back empty gets a replica promoted and starts as its replica: no confirmed write lost, 5 times of 5",
        async () => {
            const results: string[] = [];
            for (let run = 1; run <= 5; run++) {
                const master = await currentMaster();
                await data.write(probe, master, `empty-master-${run}`, 100, outputs.redisNodes.length - 1);
                const mark = await logMark(docker, master.name);
                const container = docker.getContainer(master.name);
                // A lost or replaced volume, as the issue reproduced it: emptied while the server runs, then killed.
                await execIn(container, ["rm", "-rf", "/data/appendonlydir", "/data/dump.rdb", "/data/conf"]);
                await container.kill();
                const killedAt = Date.now();
                await startContainer(docker, master.name);
                const healed = await waitFor(
                    `exactly one master, not the emptied ${master.name}, which replicates it`,
                    async () => {
                        const agreed = await agreedMaster(probe, outputs);
                        const claiming = await nodesClaimingMaster(probe, outputs);
                        return agreed !== addressOf(master) &&
                            claiming.length === 1 &&
                            claiming[0] === node(agreed).name &&
                            (await isReplicaOf(probe, master, agreed))
                            ? node(agreed)
                            : undefined;
                    },
                    90_000,
                );
                const healedMs = Date.now() - killedAt;
                const log = await logSince(docker, master.name, mark);
                // Back before the Sentinels noticed, it gets a replica promoted; back later (a slow restart), they have
                // failed it over already. Either way its log says why it did not start as master.
                const guarded = log.includes(`the Sentinels promoted ${addressOf(healed.value)}; starting as its replica`);
                if (!guarded) {
                    expect(log).toContain(`the Sentinels failed this node over to ${addressOf(healed.value)} while it was down`);
                }
                expect(log).toContain(`starting as replica of ${addressOf(healed.value)}`);
                expect(log).not.toMatch(/\] \S+: starting as master$/m);
                await expectDataEverywhere();
                results.push(
                    `run ${run}: ${master.name} -> ${healed.value.name} healed ${healedMs} ms after the kill (${guarded ? "empty-volume guard" : "failed over while down"})`,
                );
            }
            console.log(`e2e empty master: ${results.join("; ")}, ${data.size} confirmed keys on every node`);
        },
        10 * 60_000,
    );

    test("a node whose volume holds a dataset from a newer Redis refuses to start with one clear line", async () => {
        const script = [
            "set -e",
            "mkdir -p /etc/redis",
            // The entrypoint's settings for a node that has nobody to ask; loopback only (no network).
            "printf 'NODE_KIND=redis\\nNODE_NAME=downgraded\\nNODE_IP=127.0.0.1\\nNODE_PORT=6399\\nMASTER_NAME=m\\nSENTINELS=127.0.0.1:1\\nREDIS_NODES=127.0.0.1:6399\\n' >/etc/redis/node.env",
            "printf 'port 6399\\n' >/etc/redis/redis.conf",
            // The header redis-stack 7.4 writes (RDB format 12), which Redis 7.0 cannot read.
            "printf 'REDIS0012\\xfa\\x09redis-ver\\x057.4.6' >/data/dump.rdb",
            "exec /usr/local/bin/redis-node-entrypoint redis",
        ].join("\n");
        const container = await docker.createContainer({
            name: "e2e-downgrade",
            Image: cluster.imageId,
            Entrypoint: ["bash", "-c", script],
            Labels: { [e2eLabel]: "true" },
            HostConfig: { NetworkMode: "none" },
        });
        const { exitCode, log } = await runToExit(docker, container, 30_000);
        expect(exitCode).toBe(78);
        expect(log).toMatch(
            /refusing to start: \/data\/dump\.rdb has RDB format 0012, written by a newer server than this image's redis v=7\.0\.\d+/,
        );
        expect(log).not.toContain("Can't handle RDB format version");
    }, 60_000);

    test(
        "restarting every container at once re-forms the cluster with no confirmed data lost",
        async () => {
            const names = cluster.deployer.containerNames;
            const marks = await Promise.all(outputs.sentinelNodes.map(({ name }) => logMark(docker, name)));
            await Promise.all(names.map((name) => docker.getContainer(name).restart()));
            await waitFor(
                "every container to be healthy again",
                async () => {
                    const states = await Promise.all(
                        names.map(async (name) => (await docker.getContainer(name).inspect()).State.Health?.Status),
                    );
                    return states.every((state) => state === "healthy") || undefined;
                },
                120_000,
                500,
            );
            const master = (
                await waitFor(
                    "exactly one master, agreed by every Sentinel",
                    async () => {
                        const agreed = await agreedMaster(probe, outputs);
                        const claiming = await nodesClaimingMaster(probe, outputs);
                        return claiming.length === 1 && claiming[0] === node(agreed).name ? node(agreed) : undefined;
                    },
                    90_000,
                )
            ).value;
            for (const replica of outputs.redisNodes.filter((redis) => redis.name !== master.name)) {
                await waitFor(
                    `${replica.name} to replicate ${master.name}`,
                    async () => (await isReplicaOf(probe, replica, addressOf(master))) || undefined,
                    60_000,
                );
            }
            // Each Sentinel must come back knowing the replicas, or it cannot fail over a master that dies right away.
            for (const [index, sentinel] of outputs.sentinelNodes.entries()) {
                const log = await logSince(docker, sentinel.name, marks[index]);
                expect(log).toContain("keeping the epochs saved last time");
                expect(log).toContain(
                    `known replicas: the ${outputs.redisNodes.length - 1} declared nodes other than the master; known Sentinels: the ${outputs.sentinelNodes.length - 1} declared peers`,
                );
            }
            await expectDataEverywhere();
            await data.write(probe, master, "after-restart", 100, outputs.redisNodes.length - 1);
            await expectDataEverywhere();
        },
        5 * 60_000,
    );

    test(
        "after the restart the re-formed cluster fails over again, with every Sentinel and replica taking part",
        async () => {
            console.log(`e2e drill after restart: ${(await failoverDrill(await currentMaster(), "second")).summary}`);
        },
        4 * 60_000,
    );

    test("no Redis or Sentinel log reports an unwritable config, a permission error, a busy file or a missing ACL right", async () => {
        const logs = [
            ...removedLogs,
            ...(await Promise.all(
                cluster.deployer.containerNames.map(async (name) => ({ name, log: await containerLog(docker, name) })),
            )),
        ];
        const offending = logs.flatMap(({ name, log }) =>
            log
                .split("\n")
                .filter((line) => forbiddenLogLines.test(line))
                .map((line) => `${name}: ${line}`),
        );
        expect(offending).toEqual([]);
    }, 60_000);
});
