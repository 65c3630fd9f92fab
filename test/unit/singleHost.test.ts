/**
 * An existing single-host stack must show no change at all under this version: the same resources, URNs, providers,
 * dependencies and inputs as the version before multi-host placement (issue 18). The baseline was recorded from that
 * version's program (commit 972274a) with `WRITE_BASELINE=1 npx jest test/unit/singleHost.test.ts`, and each
 * run plans an update from it the way the deployer does. Both stacks name the engine and the down-after they were
 * recorded with (redis-stack, the default until issue 20; 5000 ms, until issue 21): a stack that leaves them to the
 * defaults moves to Redis Open Source and the new down-after, which the last test pins down. Since issue 21 every
 * node's redis.conf frees large values in the background (lazyfree) and takes no RDB snapshots besides its AOF
 * (`save ""`), and since issue 22 every user accepts a second, standby password (a new RandomPassword per principal,
 * a second hash on every ACL line of the nodes and Sentinels): the changes a recorded stack sees are those creations
 * and a rolling replacement of every node and Sentinel.
 */
import * as fs from "fs";
import * as path from "path";
import { principals } from "../../acl";
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

/** The engine every stack ran before issue 20 made Redis Open Source the default, and the down-after before issue 21. */
const recorded = {
    imageName: "redis-ubuntu:7.4.0",
    redisSource: "redis-stack",
    modules: JSON.stringify(["/opt/redis-stack/lib/redisearch.so", "/opt/redis-stack/lib/rejson.so"]),
    downAfterMilliseconds: "5000",
};

const stacks: Readonly<Record<string, Record<string, string>>> = {
    defaults: recorded,
    "tls and metrics": { ...recorded, tlsEnabled: "true", tlsClientCertificate: "true", metricsEnabled: "true" },
};

/**
 * The snapshot without what the recorded baseline predates: redis.conf's blocks of issue 21 (no snapshots, lazyfree),
 * and issue 22's standby passwords (their RandomPasswords, and the second hash of every ACL line).
 */
const withoutIssues21And22 = (snapshot: Record<string, ResourceSnapshot>): Record<string, ResourceSnapshot> => {
    const kept = (urns: string[]) => urns.filter((urn) => !isStandbyPassword(urn));
    const older = Object.entries(snapshot)
        .filter(([urn]) => !isStandbyPassword(urn))
        .map(([urn, resource]) => [
            urn,
            {
                ...resource,
                dependencies: kept(resource.dependencies),
                propertyDependencies: Object.fromEntries(
                    Object.entries(resource.propertyDependencies).map(([key, urns]) => [key, kept(urns)]),
                ),
            },
        ]);
    return JSON.parse(
        JSON.stringify(Object.fromEntries(older))
            .replace(/# No RDB snapshots besides[^]*?save \\"\\"\\n/g, "")
            .replace(/# Free large values in a background thread[^]*?replica-lazy-flush yes\\n/g, "")
            .replace(/ #<sha256 of [a-z]+-password-1>/g, "")
            // The trust bundle: the CA, then the standby CA.
            .replace(/<CERTIFICATE>\\n<CERTIFICATE>\\n/g, "<CERTIFICATE>\\n"),
    );
};

/** A standby of issue 22: a principal's second password, or (with TLS) the second CA. */
const isStandbyPassword = (urn: string) => /(RandomPassword::[a-z]+-password-1|::tls-ca-1|::tls-ca-key-1)$/.test(urn);

const namesReplaced = (changes: ReturnType<typeof planOf>, type: string) =>
    changes
        .filter((step) => step.op === "replace" && step.urn.includes(`$${type}::`))
        .map((step) => step.urn.split("::").pop())
        .sort();

const baselineFile = (stack: string) => path.join(__dirname, "fixtures", `single-host-${stack.replace(/\W+/g, "-")}.json`);

describe.each(Object.keys(stacks))("an existing single-host stack (%s)", (stack) => {
    it("plans issue 22's standbys (a password per principal, a CA with TLS) and a rolling replacement of every container: nothing else changed or deleted", async () => {
        const run = await runProgram(stacks[stack], loadIndex);
        // No new stack output either (an undefined export is not an output).
        expect(run.outputs.hosts).toBeUndefined();
        const snapshot = snapshotOf(run);
        if (process.env.WRITE_BASELINE === "1") {
            fs.writeFileSync(baselineFile(stack), `${JSON.stringify(snapshot, null, 1)}\n`);
        }
        const baseline = JSON.parse(fs.readFileSync(baselineFile(stack), "utf8")) as Record<string, ResourceSnapshot>;
        const changes = planOf(baseline, snapshot).filter((step) => step.op !== "same");
        const created = changes.filter((step) => step.op === "create");
        const standbyCa = stacks[stack].tlsEnabled === "true" ? ["tls-ca-1", "tls-ca-key-1"] : [];
        expect(created.map((step) => step.urn.split("::").pop()).sort()).toEqual(
            [...principals.map((p) => `${p}-password-1`), ...standbyCa].sort(),
        );
        expect(created.every((step) => isStandbyPassword(step.urn))).toBe(true);
        // With TLS every exporter too: it trusts the CA bundle, which gains the standby CA.
        const nodes = ["redis1", "redis2", "redis3", "sentinel1", "sentinel2", "sentinel3"];
        const replaced = stacks[stack].tlsEnabled === "true" ? [...nodes, ...nodes.map((n) => `${n}-exporter`)] : nodes;
        expect(changes.filter((step) => step.op !== "create").map((step) => step.op)).toEqual(replaced.map(() => "replace"));
        expect(namesReplaced(changes, "docker:index/container:Container")).toEqual([...replaced].sort());
        // Providers and dependencies too: the engine orders and routes its steps by them.
        expect(withoutIssues21And22(snapshot)).toEqual(baseline);
    }, 60_000);
});

describe("an existing single-host stack that left the engine to the default", () => {
    it("moves to Redis Open Source: a new image, every node and Sentinel replaced, nothing deleted or created but the standby passwords", async () => {
        const run = await runProgram({}, loadIndex);
        const baseline = JSON.parse(fs.readFileSync(baselineFile("defaults"), "utf8")) as Record<string, ResourceSnapshot>;
        const changes = planOf(baseline, snapshotOf(run)).filter((step) => step.op !== "same");
        expect(changes.filter((step) => step.op === "delete")).toEqual([]);
        expect(changes.filter((step) => step.op === "create" && !isStandbyPassword(step.urn))).toEqual([]);
        expect(changes.filter((step) => step.op !== "create")).toHaveLength(7);
        expect(namesReplaced(changes, "docker:index/image:Image")).toHaveLength(1);
        expect(namesReplaced(changes, "docker:index/container:Container")).toEqual([
            "redis1",
            "redis2",
            "redis3",
            "sentinel1",
            "sentinel2",
            "sentinel3",
        ]);
    }, 60_000);
});
