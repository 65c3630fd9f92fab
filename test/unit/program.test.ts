import * as pulumi from "@pulumi/pulumi";
import { principals } from "../../acl";
import { nodeContainerOptions, nodeHealthcheck, nodeVolumeOptions } from "../../components";
import { goDuration, parseGoDuration } from "../../components/goDuration";
import { mockImageId, ProgramRun, runProgram } from "../support/pulumiProgram";

/** Loads index.ts afresh under jest, so that each run sees its own config. */
const loadIndex = () => {
    let exports: Record<string, unknown> = {};
    jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load per run is the point
        exports = require("../../index");
    });
    return exports;
};

const container = "docker:index/container:Container";
const redisNames = ["redis1", "redis2", "redis3"];
const sentinelNames = ["sentinel1", "sentinel2", "sentinel3"];

describe("the program with default settings", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({}, loadIndex);
    });

    it("declares the components, with every child parented to them", () => {
        const components = run.resources.filter((r) => r.type.startsWith("redis-sentinel:index:"));
        expect(components.map((r) => `${r.type.split(":")[2]}/${r.name}`).sort()).toEqual(
            [
                "RedisSentinelCluster/redis-sentinel",
                "RedisNetwork/network",
                ...redisNames.map((n) => `RedisNode/${n}`),
                ...sentinelNames.map((n) => `SentinelNode/${n}`),
            ].sort(),
        );
        expect(
            run
                .byType(container)
                .map((r) => r.name)
                .sort(),
        ).toEqual([...redisNames, ...sentinelNames].sort());
        expect(
            run
                .byType("docker:index/volume:Volume")
                .map((r) => r.inputs.name)
                .sort(),
        ).toEqual([...redisNames, ...sentinelNames].map((n) => `${n}-data`).sort());
        expect(
            run
                .byType("random:index/randomPassword:RandomPassword")
                .map((r) => r.name)
                .sort(),
        ).toEqual(
            ["admin", "app", "clientsentinel", "failover", "metrics", "replication", "sentinelredis", "sentinelsentinel"]
                // Each principal's password and its standby (rotation step 0: generations 0 and 1).
                .flatMap((p) => [`${p}-password`, `${p}-password-1`]),
        );
    });

    it("makes the attachable redisnet bridge with the seed's IPAM subnet", () => {
        expect(run.one("docker:index/network:Network", "network").inputs).toEqual({
            name: "redisnet",
            driver: "bridge",
            attachable: true,
            ipamConfigs: [{ subnet: "192.168.55.0/24", gateway: "192.168.55.1" }],
        });
    });

    it("builds one local image with the Dockerfile's build args, never pushed", () => {
        expect(run.one("docker:index/image:Image", "redis-image").inputs).toEqual({
            imageName: "redis-ubuntu:8.10",
            skipPush: true,
            // `pulumi preview` in CI needs no Docker engine.
            buildOnPreview: false,
            build: {
                context: "./image",
                dockerfile: "./image/Dockerfile",
                args: {
                    BASE_IMAGE: "ubuntu:22.04",
                    REDIS_SOURCE: "redis",
                    REDIS_STACK_VERSION: "7.4.0-v8",
                    REDIS_VERSION: "8.10.2",
                },
            },
        });
    });

    it.each([
        ["redis1", "192.168.55.10", "redis"],
        ["redis2", "192.168.55.11", "redis"],
        ["redis3", "192.168.55.12", "redis"],
        ["sentinel1", "192.168.55.20", "sentinel"],
        ["sentinel2", "192.168.55.21", "sentinel"],
        ["sentinel3", "192.168.55.22", "sentinel"],
    ])("runs %s at its static address %s as a %s", (name, ip, command) => {
        const { inputs } = run.one(container, name);
        expect(inputs).toMatchObject({
            name,
            image: mockImageId("redis-ubuntu:8.10"),
            command: [command],
            networksAdvanced: [{ name: "redisnet", ipv4Address: ip }],
            volumes: [{ volumeName: `${name}-data`, containerPath: "/data" }],
            healthcheck: nodeHealthcheck,
            restart: "unless-stopped",
            stopTimeout: 45,
            destroyGraceSeconds: 45,
            wait: true,
        });
    });

    it("writes every health check timing as the provider reads it back (Go's Duration.String), so that no refresh sees a change", () => {
        // "60s" is read back as "1m0s"; with replaceOnChanges on the health check, every `pulumi up` replaced every container.
        for (const resource of run.byType(container)) {
            const timings = Object.entries(resource.inputs.healthcheck as Record<string, unknown>).filter(
                (entry): entry is [string, string] => typeof entry[1] === "string",
            );
            expect(timings.map(([key]) => key).sort()).toEqual(["interval", "startPeriod", "timeout"]);
            for (const [key, value] of timings) {
                expect({ [key]: value }).toEqual({ [key]: goDuration(parseGoDuration(value) / 1e6) });
            }
        }
    });

    it("replaces a container that never became healthy on the next up, and never deletes a data volume", () => {
        // Without #initerror the engine answers a failed create with an empty update, which the provider ignores.
        expect(nodeContainerOptions).toEqual({ deleteBeforeReplace: true, replaceOnChanges: ["healthcheck", "#initerror"] });
        expect(nodeVolumeOptions).toEqual({ retainOnDelete: true });
        for (const resource of run.byType(container)) {
            // Log options would be read back from the engine (with its own defaults merged in); `local` rotates without.
            expect([resource.inputs.logDriver, resource.inputs.logOpts]).toEqual(["local", undefined]);
        }
        expect(run.byType("docker:index/volume:Volume").map((volume) => volume.inputs.name)).toEqual(
            [...redisNames, ...sentinelNames].map((name) => `${name}-data`),
        );
    });

    it("chains the nodes, Redis nodes first: every container depends on the one declared before it, and on no other container", () => {
        const containers = run.byType(container);
        const byUrn = new Map(containers.map((c) => [c.urn, c.name]));
        const containerDependencies = Object.fromEntries(
            containers.map((c) => [c.name, c.dependencies.filter((urn) => byUrn.has(urn)).map((urn) => byUrn.get(urn))]),
        );
        expect(containerDependencies).toEqual({
            redis1: [],
            redis2: ["redis1"],
            redis3: ["redis2"],
            sentinel1: ["redis3"],
            sentinel2: ["sentinel1"],
            sentinel3: ["sentinel2"],
        });
        // The order comes from dependsOn alone: no input of a container comes from another container, so the engine
        // never replaces one because another was (calculateDependentReplacements follows property dependencies only).
        for (const c of containers) {
            const fromContainers = Object.entries(c.propertyDependencies).filter(([, urns]) => urns.some((u) => byUrn.has(u)));
            expect({ name: c.name, fromContainers }).toEqual({ name: c.name, fromContainers: [] });
            // ...while the image and the network are property dependencies, as the replacements they cause need.
            expect(Object.keys(c.propertyDependencies)).toEqual(expect.arrayContaining(["image", "networksAdvanced"]));
        }
    });

    it("uploads each container's own files, and only as secrets", () => {
        const uploaded = (name: string) => run.one(container, name).inputs.uploads.map((u: { file: string }) => u.file);
        for (const name of redisNames) {
            expect(uploaded(name)).toEqual(["/etc/redis/redis.conf", "/etc/redis/users.acl", "/etc/redis/node.env"]);
        }
        for (const name of sentinelNames) {
            expect(uploaded(name)).toEqual(["/etc/redis/sentinel.conf", "/etc/redis/node.env"]);
        }
        for (const resource of run.byType(container)) {
            expect([...resource.secretInputs]).toEqual(["uploads"]);
        }
        // Every config file names its own container; only the Redis ACL files are alike, by design.
        const contents = run
            .byType(container)
            .flatMap((r) => r.inputs.uploads.filter((u: { file: string }) => !u.file.endsWith(".acl")))
            .map((u: { content: string }) => u.content);
        expect(contents).toHaveLength(12);
        expect(new Set(contents).size).toBe(12);
    });

    it("puts the passwords of the stack outputs into the uploaded files", () => {
        const passwords = run.outputs.passwords as Record<string, string>;
        const redisConf = run.one(container, "redis2").inputs.uploads[0].content as string;
        expect(redisConf).toContain(`masterauth ${passwords.replication}\n`);
        const sentinelConf = run.one(container, "sentinel1").inputs.uploads[0].content as string;
        expect(sentinelConf).toContain(`sentinel auth-pass mymaster ${passwords.sentinelredis}\n`);
        expect(sentinelConf).toContain(`sentinel sentinel-pass ${passwords.sentinelsentinel}\n`);
    });

    it("exports what a client needs, with the credentials secret and nothing else secret", async () => {
        expect(run.outputs.masterName).toBe("mymaster");
        expect(run.outputs.network).toBe("redisnet");
        expect(run.outputs.appUser).toBe("app");
        expect(run.outputs.redisNodes).toEqual([
            { name: "redis1", ip: "192.168.55.10", port: 6379, role: "master" },
            { name: "redis2", ip: "192.168.55.11", port: 6380, role: "replica" },
            { name: "redis3", ip: "192.168.55.12", port: 6381, role: "replica" },
        ]);
        expect(run.outputs.sentinelNodes).toEqual(
            sentinelNames.map((name, i) => ({ name, ip: `192.168.55.2${i}`, port: 26379 })),
        );
        expect([...run.secretOutputs]).toEqual(["passwords"]);
        expect(run.outputs.metricsTargets).toEqual([]);
        const passwords = run.outputs.passwords as Record<string, string>;
        expect(Object.keys(passwords).sort()).toEqual([...principals].sort());
        for (const password of Object.values(passwords)) {
            expect(password).toMatch(/^[A-Za-z0-9_-]{40}$/);
        }
        expect(await pulumi.isSecret(run.exports.passwords as pulumi.Output<unknown>)).toBe(true);
    });
});

describe("the program with metrics on", () => {
    let plain: ProgramRun;
    let run: ProgramRun;
    const exporterNames = [...redisNames, ...sentinelNames].map((name) => `${name}-exporter`);
    beforeAll(async () => {
        plain = await runProgram({}, loadIndex);
        // The same generated passwords, as the engine keeps them in its state from one `up` to the next.
        run = await runProgram({ metricsEnabled: "true", metricsPort: "9200" }, loadIndex, [], {}, plain);
    });

    it("builds the exporter image from Debian's package, never pushed", () => {
        expect(run.one("docker:index/image:Image", "exporter-image").inputs).toEqual({
            imageName: "redis-exporter:1.45.0",
            build: {
                context: "./exporter-image",
                dockerfile: "./exporter-image/Dockerfile",
                args: { BASE_IMAGE: "debian:bookworm" },
            },
            skipPush: true,
            buildOnPreview: false,
        });
        expect(plain.byType("docker:index/image:Image").map((image) => image.name)).toEqual(["redis-image"]);
    });

    it("runs one exporter per node, at its own address, as a child of the node it watches", () => {
        const exporters = run.byType(container).filter((c) => c.name.endsWith("-exporter"));
        expect(exporters.map((c) => [c.name, c.inputs.networksAdvanced[0].ipv4Address])).toEqual(
            exporterNames.map((name, i) => [name, `192.168.55.${40 + i}`]),
        );
        for (const exporter of exporters) {
            expect(exporter.inputs).toMatchObject({
                image: mockImageId("redis-exporter:1.45.0"),
                restart: "unless-stopped",
                wait: true,
            });
            expect([...exporter.secretInputs]).toEqual(["uploads"]);
        }
        // The mock engine's URN names the immediate parent's type: each exporter component is the child of its node.
        expect(
            run.byType("redis-sentinel:index:MetricsExporter").map((c) => c.urn.replace(/.*::redis-sentinel:index:/, "")),
        ).toEqual([
            ...redisNames.map((name) => `RedisNode$redis-sentinel:index:MetricsExporter::${name}-exporter`),
            ...sentinelNames.map((name) => `SentinelNode$redis-sentinel:index:MetricsExporter::${name}-exporter`),
        ]);
        expect(plain.byType(container).map((c) => c.name)).toEqual([...redisNames, ...sentinelNames]);
    });

    it("logs each exporter in as the metrics user to its own node, with CONFIG GET off", () => {
        const passwords = run.outputs.passwords as Record<string, string>;
        const env = (name: string) => run.one(container, name).inputs.uploads[0];
        expect(env("redis2-exporter").file).toBe("/etc/redis-exporter/exporter.env");
        const lines = (name: string) =>
            env(name)
                .content.split("\n")
                .filter((line: string) => /^[A-Z]/.test(line));
        expect(lines("redis2-exporter")).toEqual([
            "REDIS_ADDR=redis://192.168.55.11:6380",
            "REDIS_USER=metrics",
            `REDIS_PASSWORD=${passwords.metrics}`,
            "REDIS_EXPORTER_WEB_LISTEN_ADDRESS=:9200",
            "REDIS_EXPORTER_CONNECTION_TIMEOUT=3s",
            "REDIS_EXPORTER_CONFIG_COMMAND=-",
        ]);
        expect(lines("sentinel3-exporter")[0]).toBe("REDIS_ADDR=redis://192.168.55.22:26379");
    });

    it("touches no node: the nodes' containers are declared exactly as without metrics, and no exporter depends on one", () => {
        for (const name of [...redisNames, ...sentinelNames]) {
            expect(run.one(container, name).inputs).toEqual(plain.one(container, name).inputs);
        }
        const nodeUrns = new Set(
            run
                .byType(container)
                .filter((c) => !c.name.endsWith("-exporter"))
                .map((c) => c.urn),
        );
        for (const name of exporterNames) {
            const exporter = run.one(container, name);
            expect(exporter.dependencies.filter((urn) => nodeUrns.has(urn))).toEqual([]);
        }
    });

    it("exports the scrape targets, not secret", () => {
        expect(run.outputs.metricsTargets).toEqual([
            ...redisNames.map((node, i) => ({ node, kind: "redis", target: `192.168.55.${40 + i}:9200` })),
            ...sentinelNames.map((node, i) => ({ node, kind: "sentinel", target: `192.168.55.${43 + i}:9200` })),
        ]);
        expect([...run.secretOutputs]).toEqual(["passwords"]);
    });
});

describe("the program with stack settings", () => {
    it("takes a password set as a secret and keeps it secret", async () => {
        const given = "Stack-set-admin-password-42";
        const run = await runProgram({ adminPassword: given }, loadIndex, ["adminPassword"]);
        expect((run.outputs.passwords as Record<string, string>).admin).toBe(given);
        expect(run.byType("random:index/randomPassword:RandomPassword").map((r) => r.name)).not.toContain("admin-password");
        expect([...run.secretOutputs]).toEqual(["passwords"]);
    });

    it("keeps the network's logical name when its Docker name changes, so that a rename is a replacement, not a second network", async () => {
        const run = await runProgram({ networkName: "cachenet" }, loadIndex);
        expect(run.byType("docker:index/network:Network").map((network) => [network.name, network.inputs.name])).toEqual([
            ["network", "cachenet"],
        ]);
        expect(run.resources.filter((r) => r.type === "redis-sentinel:index:RedisNetwork").map((r) => r.name)).toEqual([
            "network",
        ]);
    });

    it("sizes the cluster from config: 5 nodes and 5 Sentinels with quorum 3", async () => {
        const run = await runProgram(
            {
                redisNodes: JSON.stringify([10, 11, 12, 13, 14].map((host, i) => `r${i + 1}=10.7.0.${host}:6379`)),
                sentinelNodes: JSON.stringify([20, 21, 22, 23, 24].map((host, i) => `s${i + 1}=10.7.0.${host}:26379`)),
                subnet: "10.7.0.0/24",
                gateway: "10.7.0.1",
                quorum: "3",
                modules: "[]",
            },
            loadIndex,
        );
        expect(run.byType(container)).toHaveLength(10);
        expect(run.one("docker:index/network:Network", "network").inputs.ipamConfigs).toEqual([
            { subnet: "10.7.0.0/24", gateway: "10.7.0.1" },
        ]);
        const sentinelConf = run.one(container, "s5").inputs.uploads[0].content as string;
        expect(sentinelConf).toContain("sentinel monitor mymaster 10.7.0.10 6379 3\n");
        expect(run.one(container, "r1").inputs.uploads[0].content).not.toContain("loadmodule");
    });

    it("builds the Debian variant from config", async () => {
        const run = await runProgram({ baseImage: "debian:bookworm", redisSource: "debian", modules: "[]" }, loadIndex);
        expect(run.one("docker:index/image:Image", "redis-image").inputs.build.args).toEqual({
            BASE_IMAGE: "debian:bookworm",
            REDIS_SOURCE: "debian",
            REDIS_STACK_VERSION: "7.4.0-v8",
        });
    });

    it.each([
        [{ subnet: "192.168.55.0/40" }, "`subnet`"],
        [{ quorum: "4" }, "`quorum` must be an integer between 1 and 3, got 4"],
        [{ sentinelNodes: "[]" }, "`sentinelNodes` must list at least one Sentinel"],
        [{ clientsentinelPassword: "has space in it here" }, "`clientsentinelPassword` contains whitespace"],
    ])("refuses %p before declaring any resource", async (config, message) => {
        await expect(runProgram(config, loadIndex)).rejects.toMatchObject({
            message: expect.stringContaining(message),
            declaredResources: 0,
        });
    });
});
