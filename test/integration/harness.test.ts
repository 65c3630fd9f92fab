/** The harness itself: it adapts only what it says it adapts, runs servers as the image does, and leaves nothing behind. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { principals } from "../../acl";
import { completePasswords, containerPaths, renderCluster } from "../../render";
import { loadSettings, overridingReader } from "../../settings";
import { readDescriptionFile } from "../../tools/lib/cluster";
import { adaptConfig, hostNodeDirs, serverAccount } from "../harness/hostAdaptation";
import { startLocalCluster } from "../harness/localCluster";

/** redis-server and redis-sentinel processes whose parent is this test process, from /proc. */
function ownServers(): { pid: number; uid: number }[] {
    return fs
        .readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .flatMap((pid) => {
            try {
                const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
                const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, "m").exec(status)?.[1];
                const isServer = /^redis-(server|sentinel|check-rdb)$/.test(field("Name") ?? "");
                return isServer && Number(field("PPid")) === process.pid ? [{ pid: Number(pid), uid: Number(field("Uid")) }] : [];
            } catch {
                return [];
            }
        });
}

/** The smallest cluster the settings accept: one Redis node, one Sentinel. */
const smallest = { redisNodes: 1, sentinels: 1, quorum: 1, settings: { minReplicasToWrite: "0" } } as const;

describe("local cluster harness", () => {
    test("host adaptation changes only the path directives", () => {
        const settings = loadSettings(overridingReader({ redisSource: "debian", baseImage: "debian:bookworm", modules: "[]" }));
        const files = renderCluster(settings, completePasswords({}));
        const dirs = hostNodeDirs("/tmp/node");
        for (const file of [...files.redis1, ...files.sentinel1]) {
            const before = file.content.split("\n");
            const after = adaptConfig(file.content, dirs).split("\n");
            expect(after).toHaveLength(before.length);
            const changed = before.filter((line, index) => line !== after[index]);
            expect(changed.every((line) => /^(dir|aclfile) \//.test(line))).toBe(true);
        }
        const redisConf = files.redis1.find((file) => file.path === containerPaths.redisConf)?.content ?? "";
        expect(adaptConfig(redisConf, dirs)).toMatch(/^dir \/tmp\/node\/data$/m);
        expect(adaptConfig(redisConf, dirs)).toMatch(/^aclfile \/tmp\/node\/data\/conf\/users\.acl$/m);
    });

    test("a start-up that fails kills every process it started and removes its files", async () => {
        const before = new Set(fs.readdirSync(os.tmpdir()));
        await expect(startLocalCluster({ ...smallest, readyTimeoutMs: 1 })).rejects.toThrow(/did not become ready/);
        expect(ownServers()).toEqual([]);
        const left = fs.readdirSync(os.tmpdir()).filter((entry) => entry.startsWith("redis-sentinel-it-") && !before.has(entry));
        expect(left).toEqual([]);
    });

    test("servers run as the image's account; stop() ends frozen ones too; the description reads like stack outputs", async () => {
        const cluster = await startLocalCluster(smallest);
        try {
            expect(cluster.settings.topology.quorum).toBe(1);
            const account = serverAccount();
            const servers = ownServers();
            expect(servers).toHaveLength(2);
            if (account) {
                expect(servers.every((server) => server.uid === account.uid)).toBe(true);
            }
            const file = path.join(cluster.workDir, "cluster.json");
            cluster.writeDescription(file);
            expect(fs.statSync(file).mode & 0o777).toBe(0o600);
            const described = readDescriptionFile(file);
            expect(described).toEqual(cluster.description());
            expect(Object.keys(described).sort()).toEqual([
                "appUser",
                "masterName",
                "network",
                "passwords",
                "redisNodes",
                "sentinelNodes",
            ]);
            expect(Object.keys(described.passwords).sort()).toEqual([...principals].sort());
            expect(described.redisNodes[0]).toEqual({ ...described.redisNodes[0], role: "master" });
            cluster.freeze(cluster.redisNodes[0].name);
        } finally {
            await cluster.stop();
        }
        expect(ownServers()).toEqual([]);
        expect(fs.existsSync(cluster.workDir)).toBe(false);
    }, 30000);
});
