/**
 * The project as a library: another Pulumi program imports the component (lib.ts) without declaring this stack, and
 * an application stack reads this stack's outputs through a StackReference.
 */
import * as pulumi from "@pulumi/pulumi";
import { runProgram } from "../support/pulumiProgram";

type Library = typeof import("../../lib");

const loadLibrary = (): Library => {
    let library: Library | undefined;
    jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded afresh, after the mocks
        library = require("../../lib");
    });
    return library!;
};

describe("lib.ts, imported by another program", () => {
    test("declares nothing on import", async () => {
        const run = await runProgram({}, () => {
            loadLibrary();
            return {};
        });
        expect(run.resources).toEqual([]);
    });

    test("declares a cluster of the importing program's own, with the names and addresses it chose", async () => {
        const run = await runProgram({}, () => {
            const { RedisSentinelCluster, clusterSettings } = loadLibrary();
            const cache = new RedisSentinelCluster("cache", {
                settings: clusterSettings({
                    networkName: "cachenet",
                    subnet: "192.168.60.0/24",
                    gateway: "192.168.60.1",
                    redisNodes: JSON.stringify(["cache1=192.168.60.10:6379", "cache2=192.168.60.11:6379"]),
                    sentinelNodes: JSON.stringify([
                        "cachesentinel1=192.168.60.20:26379",
                        "cachesentinel2=192.168.60.21:26379",
                        "cachesentinel3=192.168.60.22:26379",
                    ]),
                }),
            });
            return { network: cache.networkName, sentinels: cache.sentinelNodes };
        });
        expect(run.byType("docker:index/network:Network").map((network) => network.inputs.name)).toEqual(["cachenet"]);
        expect(
            run
                .byType("docker:index/container:Container")
                .map((container) => container.inputs.name)
                .sort(),
        ).toEqual(["cache1", "cache2", "cachesentinel1", "cachesentinel2", "cachesentinel3"]);
        expect(run.outputs.network).toBe("cachenet");
    });

    test("refuses bad settings by name before declaring anything", async () => {
        const attempt = runProgram({}, () => {
            const { RedisSentinelCluster, clusterSettings } = loadLibrary();
            new RedisSentinelCluster("cache", { settings: clusterSettings({ quorum: "4" }) });
            return {};
        });
        await expect(attempt).rejects.toMatchObject({ message: expect.stringContaining("`quorum`"), declaredResources: 0 });
    });
});

describe("an application stack reading this stack's outputs", () => {
    const stack = "acme/redis-sentinel-docker/dev";
    const outputs = {
        masterName: "mymaster",
        sentinelNodes: [
            { name: "sentinel1", ip: "192.168.55.20", port: 26379 },
            { name: "sentinel2", ip: "192.168.55.21", port: 26379 },
        ],
        appUser: "app",
        passwords: { clientsentinel: "client-sentinel-password-0123", app: "app-password-0123456789" },
    };

    test("builds its client settings from a StackReference, and the passwords stay secret", async () => {
        const run = await runProgram(
            {},
            () => {
                // What the README shows an application program doing.
                const redis = new pulumi.StackReference(stack);
                const passwords = redis.getOutput("passwords") as pulumi.Output<Record<string, string>>;
                const clientOptions = pulumi
                    .all([redis.getOutput("sentinelNodes"), redis.getOutput("masterName"), redis.getOutput("appUser"), passwords])
                    .apply(([sentinels, name, username, secret]) => ({
                        sentinels: (sentinels as { ip: string; port: number }[]).map(({ ip, port }) => ({ host: ip, port })),
                        name,
                        sentinelUsername: "clientsentinel",
                        sentinelPassword: secret.clientsentinel,
                        username,
                        password: secret.app,
                    }));
                return { clientOptions };
            },
            [],
            { [stack]: { outputs, secret: ["passwords"] } },
        );
        expect(run.outputs.clientOptions).toEqual({
            sentinels: [
                { host: "192.168.55.20", port: 26379 },
                { host: "192.168.55.21", port: 26379 },
            ],
            name: "mymaster",
            sentinelUsername: "clientsentinel",
            sentinelPassword: "client-sentinel-password-0123",
            username: "app",
            password: "app-password-0123456789",
        });
        expect(run.secretOutputs.has("clientOptions")).toBe(true);
    });
});
