/**
 * TLS on real processes, with the program's rendered configs (tlsEnabled): every link is encrypted, the plain-text
 * ports are closed, a client without the CA is refused, and with tlsAuthClients "yes" so is a client without a
 * certificate. The failover walk-through with TLS is in failover.test.ts, the ACL matrix in aclMatrix.test.ts.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";
import { createClient } from "redis";
import { connectedIoredis, nodeRedisClient } from "../../tools/lib/clients";
import { tlsOptionsOf } from "../../tools/lib/cluster";
import { withTimeout } from "../../tools/lib/poll";
import { LocalCluster, LocalNode, startLocalCluster } from "../harness/localCluster";
import { exporterView, scrape } from "../harness/metrics";
import { plainTextReply, replyOrFirstError } from "../harness/tlsProbes";

/** An admin PING over TLS with `options`: "PONG", or why not. */
const tlsPing = (node: LocalNode, password: string, options: tls.ConnectionOptions) =>
    replyOrFirstError(node, { username: "admin", password }, options, "PING");

describe("TLS on real processes (tlsAuthClients no)", () => {
    let cluster: LocalCluster;
    beforeAll(async () => {
        cluster = await startLocalCluster({ tls: {}, metrics: true });
    }, 45_000);
    afterAll(async () => {
        await cluster?.stop();
    }, 20_000);

    test("every node listens on TLS only: port 0, tls-port the declared port, replication and Sentinel links over TLS", async () => {
        for (const node of cluster.nodes) {
            const config = await cluster.withConnection(node.name, (client) =>
                node.kind === "redis" ? client.call("CONFIG", "GET", "*port") : client.call("SENTINEL", "CONFIG", "GET", "*"),
            );
            const flat = (config as string[]).flat();
            const value = (name: string) => flat[flat.indexOf(name) + 1];
            if (node.kind === "redis") {
                expect({ node: node.name, port: value("port"), tls: value("tls-port") }).toEqual({
                    node: node.name,
                    port: "0",
                    tls: String(node.port),
                });
            }
            // A TLS port answers plain text by closing the connection (perhaps after a TLS alert), never with RESP.
            expect({ node: node.name, reply: await plainTextReply(node) }).not.toMatchObject({
                reply: expect.stringMatching(/^[+-]/),
            });
        }
        // Replication runs (the cluster came up synced), so the replicas reached their master over TLS.
        const master = cluster.redisNodes[0];
        const info = await cluster.withConnection(master.name, (client) => client.info("replication"));
        expect(info.match(/^slave\d+:.*state=online/gm)).toHaveLength(cluster.redisNodes.length - 1);
        const sentinelInfo = await cluster.withConnection(cluster.sentinelNodes[0].name, (client) => client.info("sentinel"));
        expect(sentinelInfo).toMatch(
            new RegExp(`slaves=${cluster.redisNodes.length - 1},sentinels=${cluster.sentinelNodes.length}`),
        );
    });

    test("a plain-text client is refused, on a Redis node and on a Sentinel", async () => {
        for (const node of [cluster.redisNodes[0], cluster.sentinelNodes[0]]) {
            const plain = createClient({
                socket: { host: node.ip, port: node.port, connectTimeout: 1000, reconnectStrategy: false },
                username: "admin",
                password: cluster.passwords.admin,
            });
            plain.on("error", () => undefined);
            await expect(withTimeout("a plain-text connect", plain.connect(), 5000)).rejects.toThrow();
            await plain.destroy();
        }
    });

    test("a TLS client without the CA is refused; with it, it is accepted", async () => {
        const node = cluster.redisNodes[1];
        expect(await tlsPing(node, cluster.passwords.admin, {})).toMatch(/self[- ]signed certificate|unable to verify/);
        expect(await tlsPing(node, cluster.passwords.admin, { ca: cluster.description().tlsCaCertificate })).toBe("PONG");
    });

    test("ioredis and node-redis, with the documented options, find the master through the Sentinels over TLS", async () => {
        const description = cluster.description();
        const ioredis = await connectedIoredis(description);
        const nodeRedis = nodeRedisClient(description);
        try {
            await withTimeout("node-redis to connect", nodeRedis.connect(), 10_000);
            await ioredis.set("tls:ioredis", "1");
            await nodeRedis.set("tls:node-redis", "1");
            expect([await nodeRedis.get("tls:ioredis"), await ioredis.get("tls:node-redis")]).toEqual(["1", "1"]);
            expect(tlsOptionsOf(description)).toMatchObject({ ca: description.tlsCaCertificate });
        } finally {
            ioredis.disconnect();
            await nodeRedis.destroy().catch(() => undefined);
        }
    }, 20_000);

    test("every exporter reaches its node over TLS", async () => {
        for (const exporter of cluster.exporters) {
            expect({ node: exporter.node, up: exporterView((await scrape(exporter.url)).samples).up }).toEqual({
                node: exporter.node,
                up: 1,
            });
        }
    });
});

describe("TLS on real processes (tlsAuthClients yes)", () => {
    let cluster: LocalCluster;
    beforeAll(async () => {
        cluster = await startLocalCluster({ tls: { authClients: "yes" }, metrics: true });
    }, 45_000);
    afterAll(async () => {
        await cluster?.stop();
    }, 20_000);

    test("a client with the CA but no certificate is refused; with the issued client certificate it is accepted", async () => {
        const { tlsCaCertificate: ca, tlsClientCertificate: cert, tlsClientKey: key } = cluster.description();
        for (const node of [cluster.redisNodes[0], cluster.sentinelNodes[0]]) {
            expect(await tlsPing(node, cluster.passwords.admin, { ca })).not.toBe("PONG");
            expect(await tlsPing(node, cluster.passwords.admin, { ca, cert, key })).toBe("PONG");
        }
    });

    test("npm run status reads the stack's TLS outputs and finds the cluster healthy over TLS, client certificate and all", async () => {
        const file = path.join(cluster.workDir, "outputs.json");
        cluster.writeDescription(file);
        const result = await new Promise<{ code: number; stdout: string }>((resolve) =>
            execFile(
                "npx",
                ["ts-node", "--transpile-only", "tools/status.ts", "--from", file, "--json"],
                { cwd: path.join(__dirname, "..", ".."), timeout: 60_000 },
                (error, stdout) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout }),
            ),
        );
        const assessment = JSON.parse(result.stdout) as { healthy: boolean; problems: string[]; master: string };
        expect({ code: result.code, problems: assessment.problems }).toEqual({ code: 0, problems: [] });
        expect(assessment.master).toBe(`${cluster.redisNodes[0].ip}:${cluster.redisNodes[0].port}`);
        fs.rmSync(file);
    }, 60_000);

    test("replication, the Sentinels and the exporters present their own certificates", async () => {
        const info = await cluster.withConnection(cluster.redisNodes[0].name, (client) => client.info("replication"));
        expect(info.match(/^slave\d+:.*state=online/gm)).toHaveLength(cluster.redisNodes.length - 1);
        for (const exporter of cluster.exporters) {
            expect(exporterView((await scrape(exporter.url)).samples).up).toBe(1);
        }
    });
});
