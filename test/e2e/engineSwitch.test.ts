/**
 * Switching the engine of a running cluster with `pulumi up`: the program's image changes (another base, another
 * redisSource), so the deployer replaces every container one at a time, in the engine's order, while a client writes
 * and confirms every write with WAIT 1. During the rollout replicas of one engine follow a master of the other.
 * Checked: no confirmed write lost, the longest write gap, never two nodes claiming the master role, every node on
 * the new engine afterwards, and each replaced node started on the append-only files the old engine left on its
 * volume (the manifest and its RDB-preamble base file), which is what a switch needs of the AOF.
 */
import { ClusterDescription } from "../../tools/lib/cluster";
import { missingWrites, startConfirmingWriter, waitHealthy } from "../../tools/lib/failover";
import { assessUntilHealthy } from "../../tools/lib/gate";
import { observeCluster } from "../../tools/lib/observe";
import { e2eStackConfig, engineConfig, startCluster, TestEngine } from "../docker/cluster";
import { ContainerStep, removeLabelled } from "../docker/deployer";
import { connectEngine } from "../docker/engine";
import { buildDeclaredImage } from "../docker/images";
import { containerLog } from "../docker/probe";
import { mockImageId, runProgram } from "../support/pulumiProgram";
import { describeWithEngine, loadProgram, longestGapStory } from "./support";

/**
 * The write gap a switch should cost (the issue's 2 s): the master's handover, as in any rolling update. Since the
 * handover times its request to the leading Sentinel's INFO (image/entrypoint.sh, plan_request) a handover costs
 * 0.9-1.4 s on this 2-core machine (README, "Choosing the engine"); a longer one prints what the replaced containers
 * logged around it.
 */
const switchGapTargetMs = 2000;
/**
 * The gap the test fails on: a planned stop's bound (maintenance.test.ts). Before the request was timed a handover
 * passed the target now and then (password rotations: 2.31 s in CI and 2.41 s here, 2 of 22 rotation gaps).
 */
const switchGapBoundMs = 3000;

const switches: readonly [TestEngine, TestEngine, RegExp][] = [
    ["redis7", "valkey", /^valkey 8\.1\.\d+$/],
    ["redis7", "redis8", /^redis 8\.0\.\d+$/],
    // Valkey 8.1 writes RDB format 11, which Redis 8.0 reads: replicas of Redis follow a Valkey master until its turn.
    ["valkey", "redis8", /^redis 8\.0\.\d+$/],
];

/** Asks every node its role every `intervalMs` until stopped; every moment more than one node claimed the role. */
function watchMasters(description: ClusterDescription, intervalMs: number) {
    let stopped = false;
    const doubles: { at: number; names: string[] }[] = [];
    const done = (async () => {
        while (!stopped) {
            const at = Date.now();
            const { nodes } = await observeCluster(description);
            const names = nodes.filter((node) => node.role === "master").map((node) => node.node.name);
            if (names.length > 1) {
                doubles.push({ at, names });
            }
            await new Promise((resolve) => setTimeout(resolve, intervalMs));
        }
    })();
    return {
        async stop() {
            stopped = true;
            await done;
            return doubles;
        },
    };
}

/**
 * The moments when two nodes claimed the master role that a handover does not explain. A master that is being stopped
 * pauses writes and has a replica promoted before it exits, so for a moment both report the role; one of them must
 * then be the node whose replacement was under way (its step begun, its container not yet gone), and at most one other.
 */
function unexplainedMasters(doubles: readonly { at: number; names: string[] }[], steps: readonly ContainerStep[]): string[] {
    return doubles
        .filter(({ at, names }) => {
            const stopping = names.filter((name) =>
                steps.some((step) => step.name === name && step.startedAt <= at && at <= (step.deletedAt ?? step.doneAt)),
            );
            return stopping.length === 0 || names.length - stopping.length > 1;
        })
        .map(({ at, names }) => `${new Date(at).toISOString()}: ${names.join(", ")}`);
}

describeWithEngine("switching the engine of a running cluster with pulumi up", () => {
    afterEach(async () => {
        await removeLabelled(connectEngine());
    }, 120_000);

    test.each(switches)(
        "from %s to %s, one node at a time, while a client writes: no confirmed write lost, no second master but the one handing over",
        async (from, to, versionPattern) => {
            const cluster = await startCluster(loadProgram, engineConfig(from));
            const description = cluster.outputs as unknown as ClusterDescription;
            const changed = await runProgram({ ...e2eStackConfig, ...engineConfig(to) }, loadProgram, [], {}, cluster.program);
            const image = changed.one("docker:index/image:Image", "redis-image");
            cluster.deployer.addImage(mockImageId(image.inputs.imageName), await buildDeclaredImage(cluster.docker, image));

            await waitHealthy(description, 60_000);
            const writer = startConfirmingWriter(description, 20, Date.now() + 600_000);
            const masters = watchMasters(description, 200);
            const started = Date.now();
            let steps: ContainerStep[];
            let doubles: { at: number; names: string[] }[];
            try {
                steps = await cluster.deployer.update(changed.resources);
            } finally {
                await writer.stop();
                doubles = await masters.stop();
            }
            const master = await waitHealthy(description, 60_000);
            const lost = await missingWrites(description, master, writer.confirmed);
            const { gap, from: gapFrom, step: gapStep, story: gapStory } = longestGapStory(writer.confirmed, steps, started);
            const assessment = await assessUntilHealthy(description, 30_000);
            console.log(
                `e2e switch ${from} -> ${to}: ${Date.now() - started} ms, longest write gap ${gap} ms from +${gapFrom} ms, ${writer.confirmed.length} confirmed, ${lost} lost, ` +
                    `${doubles.length} samples with two masters, during a handover, master now ${master}, nodes ${assessment.nodes.map((row) => `${row.node} ${row.version}`).join(", ")}; ` +
                    steps
                        .map((step) => `${step.name} ${step.op} +${step.startedAt - started}..+${step.doneAt - started} ms`)
                        .join(", ") +
                    (gap > switchGapTargetMs
                        ? `; the gap began in ${gapStep}'s replacement; the replaced containers' logs around it:\n${gapStory.join("\n")}`
                        : ""),
            );
            expect(steps.every((step) => step.op === "replace")).toBe(true);
            expect(lost).toBe(0);
            expect(unexplainedMasters(doubles, steps)).toEqual([]);
            for (const row of assessment.nodes) {
                expect(row.version).toMatch(versionPattern);
                const log = await containerLog(cluster.docker, row.node);
                expect(log).toMatch(/Reading RDB base file on AOF loading/);
                expect(log).not.toMatch(/Bad file format|Can't handle RDB format/);
            }
            expect(writer.confirmed.length).toBeGreaterThan(100);
            expect(gap).toBeLessThanOrEqual(switchGapBoundMs);
        },
        15 * 60_000,
    );
});
