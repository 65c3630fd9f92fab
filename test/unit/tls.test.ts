/**
 * TLS under the mock engine: the @pulumi/tls resources are answered with real PEM made by openssl
 * (test/support/pulumiProgram.ts), so the certificates, keys and configs the program uploads are checked as the
 * real thing: who issued each certificate, for which addresses, with which key, and what each config file says.
 */
import { createPrivateKey, X509Certificate } from "crypto";
import { newPrivateKey, selfSignedCa } from "../../tools/lib/pki";
import { ProgramRun, runProgram } from "../support/pulumiProgram";

const loadIndex = () => {
    let exports: Record<string, unknown> = {};
    jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load per run is the point
        exports = require("../../index");
    });
    return exports;
};

const container = "docker:index/container:Container";
const uploads = (run: ProgramRun, name: string): Record<string, string> =>
    Object.fromEntries(
        run.one(container, name).inputs.uploads.map((u: { file: string; content: string }) => [u.file, u.content]),
    );
const settingLines = (content: string) => content.split("\n").filter((line) => line !== "" && !line.startsWith("#"));

describe("the program with TLS on", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ tlsEnabled: "true", tlsClientCertificate: "true" }, loadIndex);
    }, 60_000);

    it("makes a CA, and a key, a request and a certificate for every node and the client", () => {
        const tlsResources = run.resources
            .filter((r) => r.type.startsWith("tls:"))
            .map((r) => `${r.type.split("/")[1]} ${r.name}`);
        const perHolder = (name: string) => [
            `privateKey:PrivateKey ${name}-tls-key`,
            `certRequest:CertRequest ${name}-tls-request`,
            `locallySignedCert:LocallySignedCert ${name}-tls-cert`,
        ];
        expect(tlsResources.sort()).toEqual(
            [
                "privateKey:PrivateKey tls-ca-key",
                "selfSignedCert:SelfSignedCert tls-ca",
                // The standby CA (tlsCaRotation 0 trusts generations 0 and 1).
                "privateKey:PrivateKey tls-ca-key-1",
                "selfSignedCert:SelfSignedCert tls-ca-1",
                ...["redis1", "redis2", "redis3", "sentinel1", "sentinel2", "sentinel3", "client"].flatMap(perHolder),
            ].sort(),
        );
        expect(run.one("tls:index/selfSignedCert:SelfSignedCert", "tls-ca").inputs).toMatchObject({
            isCaCertificate: true,
            validityPeriodHours: 87_600,
            earlyRenewalHours: 8_760,
        });
        expect(run.one("tls:index/locallySignedCert:LocallySignedCert", "redis2-tls-cert").inputs).toMatchObject({
            validityPeriodHours: 8760,
            earlyRenewalHours: 720,
            allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        });
    });

    it("uploads to every node a certificate the uploaded CA issued, for its address and 127.0.0.1, with its own key", () => {
        const nodes = [
            ...(run.outputs.redisNodes as { name: string; ip: string }[]),
            ...(run.outputs.sentinelNodes as { name: string; ip: string }[]),
        ];
        const serials = new Set<string>();
        for (const node of nodes) {
            const files = uploads(run, node.name);
            const ca = new X509Certificate(files["/etc/redis/tls/ca.crt"]);
            const cert = new X509Certificate(files["/etc/redis/tls/node.crt"]);
            expect(ca.ca).toBe(true);
            expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
            expect(cert.subjectAltName).toBe(`IP Address:${node.ip}, IP Address:127.0.0.1, DNS:${node.name}, DNS:localhost`);
            expect(cert.checkIP(node.ip)).toBe(node.ip);
            expect(cert.checkPrivateKey(createPrivateKey(files["/etc/redis/tls/node.key"]))).toBe(true);
            expect(files["/etc/redis/tls/ca.crt"]).toBe(run.outputs.tlsCaCertificate);
            serials.add(cert.serialNumber);
            expect([...run.one(container, node.name).secretInputs]).toEqual(["uploads"]);
        }
        expect(serials.size).toBe(nodes.length);
    });

    it("closes the plain-text ports and encrypts replication and the Sentinels' links", () => {
        const redis2 = settingLines(uploads(run, "redis2")["/etc/redis/redis.conf"]);
        expect(redis2.slice(0, 8)).toEqual([
            "port 0",
            "tls-port 6380",
            "tls-cert-file /data/conf/tls-node.crt",
            "tls-key-file /data/conf/tls-node.key",
            "tls-ca-cert-file /data/conf/tls-ca.crt",
            "tls-auth-clients no",
            "tls-replication yes",
            "bind 192.168.55.11 127.0.0.1",
        ]);
        expect(redis2).not.toContain("port 6380");
        const sentinel1 = settingLines(uploads(run, "sentinel1")["/etc/redis/sentinel.conf"]);
        expect(sentinel1.slice(0, 2)).toEqual(["port 0", "tls-port 26379"]);
        expect(sentinel1).toContain("tls-replication yes");
        expect(settingLines(uploads(run, "sentinel1")["/etc/redis/node.env"])).toEqual(
            expect.arrayContaining(["TLS=yes", "TLS_CA_FILE=/etc/redis/tls/ca.crt", "TLS_CERT_FILE=/etc/redis/tls/node.crt"]),
        );
    });

    it("exports the CA and the client certificate, with only the key secret", async () => {
        expect([...run.secretOutputs].sort()).toEqual(["passwords", "tlsClientKey"]);
        const ca = new X509Certificate(run.outputs.tlsCaCertificate as string);
        const client = new X509Certificate(run.outputs.tlsClientCertificate as string);
        expect(client.checkIssued(ca)).toBe(true);
        expect(client.checkPrivateKey(createPrivateKey(run.outputs.tlsClientKey as string))).toBe(true);
        expect(client.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    });

    it("keeps every key and certificate on the next up while nothing changes, as the engine keeps them in its state", async () => {
        const again = await runProgram({ tlsEnabled: "true", tlsClientCertificate: "true" }, loadIndex, [], {}, run);
        for (const name of ["redis1", "sentinel3"]) {
            expect(uploads(again, name)).toEqual(uploads(run, name));
        }
    }, 60_000);
});

describe("TLS settings", () => {
    it("keeps a plain-text port open at port + tlsPlainTextPortOffset, for a migration", async () => {
        const run = await runProgram({ tlsEnabled: "true", tlsPlainTextPortOffset: "10000" }, loadIndex);
        expect(settingLines(uploads(run, "redis1")["/etc/redis/redis.conf"]).slice(0, 2)).toEqual([
            "port 16379",
            "tls-port 6379",
        ]);
        expect(run.outputs.tlsClientCertificate).toBeUndefined();
    }, 60_000);

    it("signs with the stack's own CA, and makes only the standby that every node trusts beside it", async () => {
        const caKey = newPrivateKey();
        const caCert = selfSignedCa(caKey, "Acme Redis CA", 24 * 3650, ["cert_signing"]);
        const run = await runProgram({ tlsEnabled: "true", tlsCaCertificate: caCert, tlsCaPrivateKey: caKey }, loadIndex, [
            "tlsCaPrivateKey",
        ]);
        expect(run.resources.filter((r) => r.name.startsWith("tls-ca")).map((r) => r.name)).toEqual(["tls-ca-key-1", "tls-ca-1"]);
        const cert = new X509Certificate(uploads(run, "redis3")["/etc/redis/tls/node.crt"]);
        expect(cert.checkIssued(new X509Certificate(caCert))).toBe(true);
        const bundle = uploads(run, "redis3")["/etc/redis/tls/ca.crt"];
        expect(bundle.startsWith(caCert.trimEnd())).toBe(true);
        expect(bundle.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
        expect(run.one("tls:index/locallySignedCert:LocallySignedCert", "redis3-tls-cert").secretInputs.has("caPrivateKey")).toBe(
            false,
        );
        expect([...run.one("tls:index/locallySignedCert:LocallySignedCert", "redis3-tls-cert").secretInputs]).toContain(
            "caPrivateKeyPem",
        );
    }, 60_000);

    it("gives the exporters a client certificate when the nodes ask clients for one", async () => {
        const run = await runProgram({ tlsEnabled: "true", tlsAuthClients: "optional", metricsEnabled: "true" }, loadIndex);
        const files = uploads(run, "redis1-exporter");
        expect(settingLines(files["/etc/redis-exporter/exporter.env"])).toEqual(
            expect.arrayContaining([
                "REDIS_ADDR=rediss://192.168.55.10:6379",
                "REDIS_EXPORTER_TLS_CA_CERT_FILE=/etc/redis-exporter/tls/ca.crt",
                "REDIS_EXPORTER_TLS_CLIENT_CERT_FILE=/etc/redis-exporter/tls/client.crt",
            ]),
        );
        const client = new X509Certificate(files["/etc/redis-exporter/tls/client.crt"]);
        expect(client.checkIssued(new X509Certificate(files["/etc/redis-exporter/tls/ca.crt"]))).toBe(true);
        expect(client.checkPrivateKey(createPrivateKey(files["/etc/redis-exporter/tls/client.key"]))).toBe(true);
    }, 60_000);

    const otherKey = newPrivateKey();
    const ownCa = selfSignedCa(newPrivateKey(), "Acme Redis CA", 24 * 3650, ["cert_signing"]);
    it.each<[string, Record<string, string>, string]>([
        [
            "an unknown tlsAuthClients",
            { tlsEnabled: "true", tlsAuthClients: "maybe" },
            '`tlsAuthClients` must be one of no, optional, yes, got "maybe"',
        ],
        [
            "client certificates required that no client can get",
            { tlsEnabled: "true", tlsAuthClients: "yes" },
            '`tlsAuthClients` "yes" makes every client present a certificate, but none can get one',
        ],
        [
            "an early renewal longer than the validity",
            { tlsEnabled: "true", tlsEarlyRenewalHours: "9000" },
            "`tlsEarlyRenewalHours` must be an integer between 0 and 8759, got 9000",
        ],
        [
            "a plain-text port beyond 65535",
            { tlsEnabled: "true", tlsPlainTextPortOffset: "60000" },
            "`tlsPlainTextPortOffset` 60000 puts the plain-text port of redis1 (6379) beyond 65535",
        ],
        [
            "a CA that is not a certificate",
            { tlsEnabled: "true", tlsCaCertificate: "not a certificate" },
            "`tlsCaCertificate` is not a PEM certificate",
        ],
        [
            "a CA without its key",
            { tlsEnabled: "true", tlsCaCertificate: ownCa },
            "`tlsCaCertificate` and `tlsCaPrivateKey` go together",
        ],
        [
            "a CA with another key",
            { tlsEnabled: "true", tlsCaCertificate: ownCa, tlsCaPrivateKey: otherKey },
            "`tlsCaPrivateKey` is not the key of `tlsCaCertificate` (value hidden)",
        ],
    ])("refuses %s before declaring any resource, never showing a key", async (_, config, message) => {
        const refused = runProgram(config, loadIndex, ["tlsCaPrivateKey"]);
        await expect(refused).rejects.toMatchObject({ message: expect.stringContaining(message), declaredResources: 0 });
        await expect(refused).rejects.toMatchObject({ message: expect.not.stringContaining(otherKey.split("\n")[1]) });
    });
});

describe("TLS with the stack's own two CAs", () => {
    it("trusts both, issues from the first at an even rotation step and from the second at an odd one, and makes no CA", async () => {
        const [firstKey, secondKey] = [newPrivateKey(), newPrivateKey()];
        const first = selfSignedCa(firstKey, "Acme Redis CA 2026", 24 * 3650, ["cert_signing"]);
        const second = selfSignedCa(secondKey, "Acme Redis CA 2027", 24 * 3650, ["cert_signing"]);
        const config = {
            tlsEnabled: "true",
            tlsCaCertificate: first,
            tlsCaPrivateKey: firstKey,
            tlsNextCaCertificate: second,
            tlsNextCaPrivateKey: secondKey,
        };
        const secrets = ["tlsCaPrivateKey", "tlsNextCaPrivateKey"];
        for (const [step, issuer] of [
            ["0", first],
            ["1", second],
        ]) {
            const run = await runProgram({ ...config, tlsCaRotation: step }, loadIndex, secrets);
            expect(run.resources.filter((r) => r.name.startsWith("tls-ca"))).toEqual([]);
            const files = uploads(run, "sentinel1");
            expect(files["/etc/redis/tls/ca.crt"]).toBe(`${first.trimEnd()}\n${second.trimEnd()}\n`);
            expect(new X509Certificate(files["/etc/redis/tls/node.crt"]).checkIssued(new X509Certificate(issuer))).toBe(true);
        }
    }, 60_000);

    it("refuses two CAs with one subject, and a next CA without its key, naming the settings", async () => {
        const key = newPrivateKey();
        const ca = selfSignedCa(key, "Acme Redis CA", 24 * 3650, ["cert_signing"]);
        const other = selfSignedCa(newPrivateKey(), "Acme Redis CA", 24 * 3650, ["cert_signing"]);
        await expect(
            runProgram(
                {
                    tlsEnabled: "true",
                    tlsCaCertificate: ca,
                    tlsCaPrivateKey: key,
                    tlsNextCaCertificate: other,
                    tlsNextCaPrivateKey: key,
                },
                loadIndex,
            ),
        ).rejects.toMatchObject({
            message: expect.stringContaining("`tlsNextCaCertificate` have the same subject"),
            declaredResources: 0,
        });
        await expect(runProgram({ tlsEnabled: "true", tlsNextCaCertificate: other }, loadIndex)).rejects.toMatchObject({
            message: expect.stringContaining("`tlsNextCaCertificate` and `tlsNextCaPrivateKey` go together"),
            declaredResources: 0,
        });
    }, 60_000);
});
