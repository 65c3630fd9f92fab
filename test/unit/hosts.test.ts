/**
 * Several Docker hosts (`dockerHosts`): the settings that place each node on a host, the placements refused because
 * the loss of one host would stop a failover, and what the program declares for them.
 */
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { loadDockerHostsTls, loadSettings, overridingReader } from "../../settings";
import { newPrivateKey, selfSignedCa } from "../../tools/lib/pki";
import { ProgramRun, runProgram } from "../support/pulumiProgram";

const threeHosts = {
    dockerHosts: JSON.stringify([
        "dc1=10.77.0.11 ssh://ops@10.77.0.11",
        "dc2=10.77.0.12 ssh://ops@10.77.0.12",
        "dc3=10.77.0.13 unix:///run/dc3.sock",
    ]),
    redisNodes: JSON.stringify(["redis1=dc1:6379", "redis2=dc2:6379", "redis3=dc3:6379"]),
    sentinelNodes: JSON.stringify(["sentinel1=dc1:26379", "sentinel2=dc2:26379", "sentinel3=dc3:26379"]),
};
const load = (overrides: Record<string, string>) => loadSettings(overridingReader({ ...threeHosts, ...overrides }));
const refused = (overrides: Record<string, string>) => () => load(overrides);

describe("dockerHosts settings", () => {
    it("place each node at its host's address, and name the host", () => {
        const { topology } = load({});
        expect(topology.hosts.map((h) => `${h.name} ${h.address} ${h.endpoint}`)).toEqual([
            "dc1 10.77.0.11 ssh://ops@10.77.0.11",
            "dc2 10.77.0.12 ssh://ops@10.77.0.12",
            "dc3 10.77.0.13 unix:///run/dc3.sock",
        ]);
        expect(topology.redisNodes).toEqual([
            { name: "redis1", ip: "10.77.0.11", port: 6379, host: "dc1" },
            { name: "redis2", ip: "10.77.0.12", port: 6379, host: "dc2" },
            { name: "redis3", ip: "10.77.0.13", port: 6379, host: "dc3" },
        ]);
    });

    it("leave a stack without hosts as it was: nodes carry no host", () => {
        const { topology } = loadSettings(() => undefined);
        expect(topology.hosts).toEqual([]);
        expect(topology.redisNodes.every((node) => !("host" in node))).toBe(true);
    });

    it.each([
        [
            { dockerHosts: '["dc1 10.77.0.11 ssh://a@b"]' },
            /`dockerHosts` entry "dc1 10.77.0.11 ssh:\/\/a@b" is not of the form "name=address endpoint"/,
        ],
        [{ dockerHosts: '["dc1=10.77.0 ssh://a@b"]' }, /`dockerHosts` entry .*"10.77.0" is not an IPv4 address/],
        [
            { dockerHosts: '["dc1=127.0.0.5 unix:///x.sock"]' },
            /`dockerHosts` entry .*127.0.0.5 cannot be reached from other machines/,
        ],
        [
            { dockerHosts: '["dc1=10.77.0.11 http://x"]' },
            /`dockerHosts` entry .*endpoint "http:\/\/x" is not unix:\/\/\/path, ssh:\/\/user@host or tcp:\/\/host:port/,
        ],
        [
            { dockerHosts: '["dc1=10.77.0.11 ssh://a@b", "dc1=10.77.0.12 ssh://a@c"]' },
            /`dockerHosts` entry "dc1=10.77.0.12 ssh:\/\/a@c": name "dc1" is already used by host dc1/,
        ],
        [
            { redisNodes: '["redis1=dc9:6379", "redis2=dc2:6379"]' },
            /`redisNodes` entry "redis1=dc9:6379": host "dc9" is not in `dockerHosts` \(dc1, dc2, dc3\)/,
        ],
        [
            { redisNodes: '["redis1=10.77.0.11:6379"]' },
            /`redisNodes` entry "redis1=10.77.0.11:6379": host "10.77.0.11" is not in `dockerHosts`/,
        ],
        [
            { redisNodes: '["redis1=dc1:6379", "redis2=dc1:6379", "redis3=dc3:6379"]' },
            /placement: redis2 and redis1 both use port 6379 on host dc1/,
        ],
        [
            { sentinelNodes: '["sentinel1=dc1:26379", "sentinel2=dc1:26380", "sentinel3=dc3:26379"]' },
            /placement: losing host dc1 leaves 1 of 3 Sentinels, fewer than `quorum` 2: no failover could be authorised/,
        ],
        [
            {
                sentinelNodes: '["sentinel1=dc1:26379", "sentinel2=dc1:26380", "sentinel3=dc2:26379", "sentinel4=dc3:26379"]',
                quorum: "2",
            },
            /placement: losing host dc1 leaves 2 of 4 Sentinels, not a majority of the 4/,
        ],
        [
            { redisNodes: '["redis1=dc1:6379", "redis2=dc1:6380"]', minReplicasToWrite: "1" },
            /placement: losing host dc1 leaves no Redis node; put a replica on another host/,
        ],
        [
            {
                tlsEnabled: "true",
                tlsPlainTextPortOffset: "1",
                redisNodes: '["redis1=dc1:6379", "redis2=dc1:6380", "redis3=dc3:6379"]',
            },
            /placement: redis2 and redis1 both use port 6380 on host dc1/,
        ],
        [
            { metricsEnabled: "true" },
            /`metricsExporters` entry "redis1=192.168.55.40" is not of the form "node=port" \(with `dockerHosts`, each exporter runs on its node's host\)/,
        ],
        [
            { metricsEnabled: "true", metricsExporters: '["redis1=9121"]' },
            /`metricsExporters` has no port for redis2, redis3, sentinel1, sentinel2, sentinel3/,
        ],
        [
            {
                metricsEnabled: "true",
                metricsExporters:
                    '["redis1=9121", "redis2=9121", "redis3=9121", "sentinel1=6379", "sentinel2=9122", "sentinel3=9122"]',
            },
            /placement: sentinel1 and redis1 both use port 6379 on host dc1/,
        ],
    ])("refuse %j, naming the setting and the value", (overrides, message) => {
        expect(refused(overrides)).toThrow(message);
    });

    it("allow every node on one host (it protects against a failed container, not the loss of the machine)", () => {
        const one = load({
            dockerHosts: '["solo=10.77.0.11 unix:///var/run/docker.sock"]',
            redisNodes: '["redis1=solo:6379", "redis2=solo:6380", "redis3=solo:6381"]',
            sentinelNodes: '["sentinel1=solo:26379", "sentinel2=solo:26380", "sentinel3=solo:26381"]',
        });
        expect(new Set(one.topology.redisNodes.map((node) => node.ip))).toEqual(new Set(["10.77.0.11"]));
    });

    it("want client certificates for a tcp:// host, and never show them in an error", () => {
        const tcpHosts = {
            dockerHosts: '["dc1=10.77.0.11 tcp://10.77.0.11:2376", "dc2=10.77.0.12 ssh://a@b", "dc3=10.77.0.13 ssh://a@c"]',
        };
        const settings = load(tcpHosts);
        const read = (tls?: string) => overridingReader(tls === undefined ? {} : { dockerHostsTls: tls });
        expect(() => loadDockerHostsTls(read(), settings)).toThrow(
            /`dockerHosts` host dc1 is reached over tcp:\/\/ without TLS.*set its client certificates in `dockerHostsTls`/,
        );
        const secretText =
            '{"dc1": {"ca": "-----BEGIN CERTIFICATE-----", "cert": "-----BEGIN CERTIFICATE-----", "key": "hunter2-secret"}}';
        expect(() => loadDockerHostsTls(read(secretText), settings)).toThrow(
            /host dc1: "key" is not a PEM string \(value hidden\)/,
        );
        try {
            loadDockerHostsTls(read(secretText), settings);
        } catch (error) {
            expect((error as Error).message).not.toContain("hunter2");
        }
        expect(() => loadDockerHostsTls(read('{"dc2": {}}'), settings)).toThrow(
            /gives certificates for host dc2, whose endpoint is not tcp:\/\//,
        );
        expect(() => loadDockerHostsTls(read("{not json"), settings)).toThrow(/`dockerHostsTls` is not JSON .*\(value hidden\)/);
    });
});

const loadIndex = () => {
    let exports: Record<string, unknown> = {};
    jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load per run is the point
        exports = require("../../index");
    });
    return exports;
};
const container = "docker:index/container:Container";
const uploaded = (run: ProgramRun, name: string, file: string): string =>
    run.one(container, name).inputs.uploads.find((u: { file: string }) => u.file.endsWith(file)).content;

describe("the program on three hosts", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram(threeHosts, loadIndex);
    }, 60_000);

    it("declares one explicit Docker provider per host, and no bridge network", () => {
        const providers = run.byType("pulumi:providers:docker");
        expect(providers.map((p) => [p.name, p.inputs.host])).toEqual([
            ["docker-dc1", "ssh://ops@10.77.0.11"],
            ["docker-dc2", "ssh://ops@10.77.0.12"],
            ["docker-dc3", "unix:///run/dc3.sock"],
        ]);
        expect(run.byType("docker:index/network:Network")).toEqual([]);
        expect(run.outputs.network).toBe("host");
        // For the tools (npm run drill -- --host): each host's address and endpoint.
        expect(run.outputs.hosts).toEqual([
            { name: "dc1", address: "10.77.0.11", docker: "ssh://ops@10.77.0.11" },
            { name: "dc2", address: "10.77.0.12", docker: "ssh://ops@10.77.0.12" },
            { name: "dc3", address: "10.77.0.13", docker: "unix:///run/dc3.sock" },
        ]);
    });

    it("sends every resource of a node to its host's engine, with the image built there", () => {
        const providerOf = (type: string, name: string) => run.one(type, name).provider?.split("::")[3];
        for (const [node, host] of Object.entries({ redis1: "dc1", redis2: "dc2", redis3: "dc3", sentinel2: "dc2" })) {
            expect(providerOf(container, node)).toBe(`docker-${host}`);
            expect(providerOf("docker:index/volume:Volume", `${node}-data`)).toBe(`docker-${host}`);
            expect(run.one(container, node).inputs.image).toBe(`sha256:mock-redis-ubuntu:8.10`);
            expect(run.one(container, node).dependencies).toContain(
                run.one("docker:index/image:Image", `redis-image-${host}`).urn,
            );
        }
        expect(run.byType("docker:index/image:Image").map((i) => [i.name, i.provider?.split("::")[3]])).toEqual([
            ["redis-image-dc1", "docker-dc1"],
            ["redis-image-dc2", "docker-dc2"],
            ["redis-image-dc3", "docker-dc3"],
        ]);
    });

    it("runs each node in its host's network, listening and announcing at the host's address", () => {
        expect(run.one(container, "redis2").inputs.networkMode).toBe("host");
        expect(run.one(container, "redis2").inputs.networksAdvanced).toBeUndefined();
        const redisConf = uploaded(run, "redis2", "redis.conf");
        expect(redisConf).toMatch(/^bind 10\.77\.0\.12 127\.0\.0\.1$/m);
        expect(redisConf).toMatch(/^replica-announce-ip 10\.77\.0\.12$/m);
        expect(redisConf).toMatch(/^replicaof 10\.77\.0\.11 6379$/m);
        const sentinelConf = uploaded(run, "sentinel3", "sentinel.conf");
        expect(sentinelConf).toMatch(/^sentinel announce-ip 10\.77\.0\.13$/m);
        expect(sentinelConf).toMatch(/^sentinel monitor mymaster 10\.77\.0\.11 6379 2$/m);
        expect(sentinelConf).toMatch(/^sentinel known-sentinel mymaster 10\.77\.0\.11 26379 [0-9a-f]{40}$/m);
        expect(run.outputs.sentinelNodes).toEqual([
            { name: "sentinel1", ip: "10.77.0.11", port: 26379, host: "dc1" },
            { name: "sentinel2", ip: "10.77.0.12", port: 26379, host: "dc2" },
            { name: "sentinel3", ip: "10.77.0.13", port: 26379, host: "dc3" },
        ]);
    });

    it("keeps the one chain over every node, across the hosts", () => {
        const order = ["redis1", "redis2", "redis3", "sentinel1", "sentinel2", "sentinel3"];
        for (let index = 1; index < order.length; index++) {
            expect(run.one(container, order[index]).dependencies).toContain(run.one(container, order[index - 1]).urn);
        }
    });
});

describe("the program on three hosts with metrics", () => {
    it("runs each exporter on its node's host, in the host's network at its own port, with the exporter image built there", async () => {
        const run = await runProgram(
            {
                ...threeHosts,
                metricsEnabled: "true",
                metricsExporters: JSON.stringify([
                    "redis1=9121",
                    "redis2=9121",
                    "redis3=9121",
                    "sentinel1=9122",
                    "sentinel2=9122",
                    "sentinel3=9122",
                ]),
            },
            loadIndex,
        );
        const exporter = run.one(container, "sentinel2-exporter");
        expect(exporter.provider?.split("::")[3]).toBe("docker-dc2");
        expect(exporter.inputs.networkMode).toBe("host");
        expect(exporter.dependencies).toContain(run.one("docker:index/image:Image", "exporter-image-dc2").urn);
        const env = exporter.inputs.uploads.find((u: { file: string }) => u.file.endsWith("exporter.env")).content;
        expect(env).toMatch(/^REDIS_ADDR=redis:\/\/10\.77\.0\.12:26379$/m);
        expect(env).toMatch(/^REDIS_EXPORTER_WEB_LISTEN_ADDRESS=:9122$/m);
        expect(run.outputs.metricsTargets).toContainEqual({ node: "sentinel2", kind: "sentinel", target: "10.77.0.12:9122" });
    }, 60_000);
});

describe("a pushed image instead of a build (prebuiltImage)", () => {
    const pushed = "registry.example.com:5000/ops/redis-sentinel:1.2";

    it("is pulled on each host, kept there on destroy, and run by its id; nothing is built", async () => {
        const run = await runProgram({ ...threeHosts, prebuiltImage: pushed }, loadIndex);
        expect(run.byType("docker:index/image:Image")).toEqual([]);
        const pulls = run.byType("docker:index/remoteImage:RemoteImage");
        expect(pulls.map((pull) => [pull.name, pull.provider?.split("::")[3], pull.inputs])).toEqual(
            ["dc1", "dc2", "dc3"].map((host) => [
                `redis-image-pull-${host}`,
                `docker-${host}`,
                { name: pushed, keepLocally: true },
            ]),
        );
        expect(run.one(container, "redis3").inputs.image).toBe(`sha256:mock-${pushed}`);
        expect(run.one(container, "redis3").dependencies).toContain(
            run.one("docker:index/remoteImage:RemoteImage", "redis-image-pull-dc3").urn,
        );
    }, 60_000);

    it("works on one host too", async () => {
        const run = await runProgram({ prebuiltImage: pushed }, loadIndex);
        expect(run.byType("docker:index/remoteImage:RemoteImage").map((pull) => pull.name)).toEqual(["redis-image-pull"]);
        expect(run.byType("docker:index/image:Image")).toEqual([]);
    }, 60_000);

    it("must be an image reference", () => {
        expect(() => loadSettings(overridingReader({ prebuiltImage: "not a reference" }))).toThrow(
            /`prebuiltImage` "not a reference" is not an image reference/,
        );
        expect(loadSettings(overridingReader({ prebuiltImage: `ops/redis@sha256:${"a".repeat(64)}` })).image.prebuilt).toBe(
            `ops/redis@sha256:${"a".repeat(64)}`,
        );
    });
});

describe("the program on tcp:// hosts with TLS", () => {
    it("hands the client certificates to the provider as secrets, and names the hosts' addresses in the nodes' certificates", async () => {
        const ca = selfSignedCa(newPrivateKey(), "docker-ca", 24, ["cert_signing"]);
        const material = { ca, cert: ca, key: "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n" };
        const run = await runProgram(
            {
                ...threeHosts,
                dockerHosts: '["dc1=10.77.0.11 tcp://10.77.0.11:2376", "dc2=10.77.0.12 ssh://a@b", "dc3=10.77.0.13 ssh://a@c"]',
                dockerHostsTls: JSON.stringify({ dc1: material }),
                tlsEnabled: "true",
            },
            loadIndex,
            ["dockerHostsTls"],
        );
        const provider = run.one("pulumi:providers:docker", "docker-dc1");
        expect(provider.inputs).toMatchObject({ host: "tcp://10.77.0.11:2376", caMaterial: ca, keyMaterial: material.key });
        expect([...provider.secretInputs].sort()).toEqual(["caMaterial", "certMaterial", "keyMaterial"]);
        expect(run.one("pulumi:providers:docker", "docker-dc2").inputs.caMaterial).toBeUndefined();
        const cert = new X509Certificate(uploaded(run, "redis3", "tls/node.crt"));
        expect(cert.subjectAltName).toContain("IP Address:10.77.0.13");
    }, 60_000);
});

describe("the README's worked stack for three hosts", () => {
    it("is accepted by the program's settings, one node of each kind per host", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
        const section = readme.slice(readme.indexOf("## Across several machines"));
        const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
        expect(block).toBeDefined();
        const config = (parse(block!) as { config: Record<string, unknown> }).config;
        const values = Object.fromEntries(
            Object.entries(config).map(([key, value]) => [key.replace(/^redis-sentinel:/, ""), JSON.stringify(value)]),
        );
        const { topology } = loadSettings(overridingReader(values));
        expect(topology.hosts.map((host) => host.name)).toEqual(["dc1", "dc2", "dc3"]);
        for (const host of ["dc1", "dc2", "dc3"]) {
            expect(topology.redisNodes.filter((node) => node.host === host)).toHaveLength(1);
            expect(topology.sentinelNodes.filter((node) => node.host === host)).toHaveLength(1);
        }
    });
});
