/**
 * An existing single-host stack must show no change at all under this version: the same resources, URNs, providers,
 * dependencies and inputs as the version before multi-host placement (issue 18). The baseline was recorded from that
 * version's program (commit 972274a) with `WRITE_BASELINE=1 npx jest test/unit/singleHost.test.ts`, and each
 * run plans an update from it the way the deployer does. Both stacks name the engine they were recorded with
 * (redis-stack, the default until issue 20): a stack that leaves it to the default moves to Redis Open Source, which the
 * last test pins down.
 */
import * as fs from "fs";
import * as path from "path";
import { planOf } from "../docker/plan";
import { runProgram } from "../support/pulumiProgram";
import { ResourceSnapshot, snapshotOf } from "../support/resourceSnapshot";

const loadIndex = () => {
    let exports: Record<string, unknown> = {};
    jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load per run is the point
        exports = require("../../index");
    });
    return exports;
};

/** The engine every stack ran before issue 20 made Redis Open Source the default. */
const redisStack = {
    imageName: "redis-ubuntu:7.4.0",
    redisSource: "redis-stack",
    modules: JSON.stringify(["/opt/redis-stack/lib/redisearch.so", "/opt/redis-stack/lib/rejson.so"]),
};

const stacks: Readonly<Record<string, Record<string, string>>> = {
    defaults: redisStack,
    "tls and metrics": { ...redisStack, tlsEnabled: "true", tlsClientCertificate: "true", metricsEnabled: "true" },
};

const baselineFile = (stack: string) => path.join(__dirname, "fixtures", `single-host-${stack.replace(/\W+/g, "-")}.json`);

describe.each(Object.keys(stacks))("an existing single-host stack (%s)", (stack) => {
    it("plans no change at all: every resource the same, none created or deleted", async () => {
        const run = await runProgram(stacks[stack], loadIndex);
        // No new stack output either (an undefined export is not an output).
        expect(run.outputs.hosts).toBeUndefined();
        const snapshot = snapshotOf(run);
        if (process.env.WRITE_BASELINE === "1") {
            fs.writeFileSync(baselineFile(stack), `${JSON.stringify(snapshot, null, 1)}\n`);
        }
        const baseline = JSON.parse(fs.readFileSync(baselineFile(stack), "utf8")) as Record<string, ResourceSnapshot>;
        const changes = planOf(baseline, snapshot).filter((step) => step.op !== "same");
        expect(changes).toEqual([]);
        // Providers and dependencies too: the engine orders and routes its steps by them.
        expect(snapshot).toEqual(baseline);
    }, 60_000);
});

describe("an existing single-host stack that left the engine to the default", () => {
    it("moves to Redis Open Source: a new image, every node and Sentinel replaced, nothing created or deleted", async () => {
        const run = await runProgram({}, loadIndex);
        const baseline = JSON.parse(fs.readFileSync(baselineFile("defaults"), "utf8")) as Record<string, ResourceSnapshot>;
        const changes = planOf(baseline, snapshotOf(run)).filter((step) => step.op !== "same");
        const changed = (type: string) => changes.filter((step) => step.op === "replace" && step.urn.includes(`$${type}::`));
        expect(changes.filter((step) => step.op === "create" || step.op === "delete")).toEqual([]);
        expect(changes).toHaveLength(7);
        expect(changed("docker:index/image:Image")).toHaveLength(1);
        expect(
            changed("docker:index/container:Container")
                .map((step) => step.urn.split("::").pop())
                .sort(),
        ).toEqual(["redis1", "redis2", "redis3", "sentinel1", "sentinel2", "sentinel3"]);
    }, 60_000);
});
