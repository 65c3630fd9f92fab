import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { X509Certificate } from "crypto";

const root = path.join(__dirname, "..", "..");

/** Runs `npm run render` as a user would, with the environment given. */
function render(outDir: string, env: Record<string, string> = {}, extra: string[] = []): string {
    return execFileSync("npx", ["ts-node", "--transpile-only", "scripts/render.ts", "--out", outDir, ...extra], {
        cwd: root,
        env: { ...process.env, ...env },
        encoding: "utf8",
    });
}

describe("npm run render", () => {
    let outDir: string;
    beforeEach(() => {
        outDir = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    });
    afterEach(() => fs.rmSync(outDir, { recursive: true, force: true }));

    it("with tlsEnabled and metrics, writes each node's certificate from a CA of its own, and the exporters' files", () => {
        render(outDir, {}, ["--set", "tlsEnabled=true", "--set", "metricsEnabled=true", "--set", "tlsAuthClients=optional"]);
        const read = (file: string) => fs.readFileSync(path.join(outDir, file), "utf8");
        const ca = new X509Certificate(read("sentinel2/etc/redis/tls/ca.crt"));
        const cert = new X509Certificate(read("sentinel2/etc/redis/tls/node.crt"));
        expect(cert.checkIssued(ca)).toBe(true);
        expect(cert.checkIP("192.168.55.21")).toBe("192.168.55.21");
        expect(read("sentinel2/etc/redis/sentinel.conf")).toMatch(/^port 0\ntls-port 26379\n/m);
        expect(read("redis1-exporter/etc/redis-exporter/exporter.env")).toContain("REDIS_ADDR=rediss://192.168.55.10:6379\n");
        expect(new X509Certificate(read("redis1-exporter/etc/redis-exporter/tls/client.crt")).checkIssued(ca)).toBe(true);
        expect(fs.statSync(path.join(outDir, "redis1/etc/redis/tls/node.key")).mode & 0o777).toBe(0o600);
    }, 60_000);

    it("writes every container's files at their paths, and the passwords only to secrets.json (0600)", () => {
        const adminPassword = "Admin-from-the-environment-42";
        const stdout = render(outDir, { REDIS_SENTINEL_ADMIN_PASSWORD: adminPassword });
        const files = fs.readdirSync(outDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
        const relative = files.map((e) => path.relative(outDir, path.join(e.parentPath, e.name))).sort();
        expect(relative).toEqual([
            "redis1/etc/redis/node.env",
            "redis1/etc/redis/redis.conf",
            "redis1/etc/redis/users.acl",
            "redis2/etc/redis/node.env",
            "redis2/etc/redis/redis.conf",
            "redis2/etc/redis/users.acl",
            "redis3/etc/redis/node.env",
            "redis3/etc/redis/redis.conf",
            "redis3/etc/redis/users.acl",
            "secrets.json",
            "sentinel1/etc/redis/node.env",
            "sentinel1/etc/redis/sentinel.conf",
            "sentinel2/etc/redis/node.env",
            "sentinel2/etc/redis/sentinel.conf",
            "sentinel3/etc/redis/node.env",
            "sentinel3/etc/redis/sentinel.conf",
        ]);
        for (const file of relative) {
            expect({ file, mode: fs.statSync(path.join(outDir, file)).mode & 0o777 }).toEqual({ file, mode: 0o600 });
        }
        const secrets = JSON.parse(fs.readFileSync(path.join(outDir, "secrets.json"), "utf8"));
        expect(secrets.admin).toBe(adminPassword);
        expect(secrets.replication).toMatch(/^[A-Za-z0-9_-]{40}$/);
        for (const password of Object.values(secrets) as string[]) {
            expect(stdout).not.toContain(password);
        }
        expect(fs.readFileSync(path.join(outDir, "redis2/etc/redis/redis.conf"), "utf8")).toContain(
            `masterauth ${secrets.replication}`,
        );
    });

    it("applies the stack file and --set", () => {
        render(outDir, {}, ["--stack", "dev", "--set", "quorum=3", "--set", "modules=[]"]);
        const sentinelConf = fs.readFileSync(path.join(outDir, "sentinel1/etc/redis/sentinel.conf"), "utf8");
        expect(sentinelConf).toContain("sentinel monitor mymaster 192.168.55.10 6379 3\n");
        expect(fs.readFileSync(path.join(outDir, "redis1/etc/redis/redis.conf"), "utf8")).not.toContain("loadmodule");
    });

    it("refuses bad settings and bad passwords with a message naming them, writing nothing", () => {
        expect(() => render(outDir, {}, ["--set", "quorum=9"])).toThrow("`quorum` must be an integer between 1 and 3, got 9");
        expect(() => render(outDir, { REDIS_SENTINEL_APP_PASSWORD: "short" })).toThrow("`appPassword` is too short");
        expect(fs.readdirSync(outDir)).toEqual([]);
    });
});
