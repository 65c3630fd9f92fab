import { createHash } from "crypto";
import { Principal, principals } from "../../acl";
import { Passwords, renderCluster, renderRedisNode, renderSentinelNode, sentinelMyid } from "../../render";
import { loadSettings, overridingReader } from "../../settings";

const settings = loadSettings(() => undefined);
const [redis1, redis2] = settings.topology.redisNodes;
const [sentinel1, sentinel2, sentinel3] = settings.topology.sentinelNodes;

/** Fixed, recognisable passwords, so that the expected lines can be written out in full. */
const passwords = Object.fromEntries(principals.map((p) => [p, `${p}-Password-0123456789`])) as Passwords;
const hash = (principal: Principal) => "#" + createHash("sha256").update(passwords[principal]).digest("hex");

const file = (files: { path: string; content: string }[], path: string) => {
    const found = files.find((f) => f.path === path);
    if (!found) {
        throw new Error(`no ${path} in ${files.map((f) => f.path).join(", ")}`);
    }
    return found.content;
};
const searchReplicaOf = "-ft._createifnx -ft._alterifnx -ft._dropifx -ft._dropindexifx -ft._aliasaddifnx -ft._aliasdelifx";
const stackSearchDenials = `-ft.config -ft.debug ${searchReplicaOf}`;
/** Redis 8's query engine has no FT.DEBUG (it is the internal _FT.DEBUG) but has cluster commands. */
const searchDenials = `-ft.config ${searchReplicaOf} -search.clusterset -search.clusterrefresh -search.clusterinfo`;
/** The default modules are Redis Open Source's query engine and JSON. */
const moduleDenials = `${searchDenials} -json.debug`;
const lines = (content: string) => content.split("\n").filter((line) => line !== "" && !line.startsWith("#"));

describe("the Redis ACL file", () => {
    it("has exactly the seed's users, hardened, with hashed passwords", () => {
        expect(lines(file(renderRedisNode(settings, redis1, passwords), "/etc/redis/users.acl"))).toEqual([
            "user default off resetpass resetkeys resetchannels -@all",
            `user admin on ${hash("admin")} ~* &* +@all`,
            `user replication on ${hash("replication")} -@all +psync +replconf +ping +info`,
            `user sentinelredis on ${hash("sentinelredis")} -@all &__sentinel__:hello +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill`,
            `user failover on ${hash("failover")} -@all +auth +hello +ping +info +client|pause +client|unpause`,
            `user metrics on ${hash("metrics")} -@all +client|setname +info +latency|latest +slowlog|len`,
            `user app on ${hash("app")} ~* &app:* +@all -@admin -@dangerous +info +role ${moduleDenials}`,
        ]);
    });

    it.each([
        ["no module", "[]", ""],
        ["the query engine", '["/usr/lib/redis/modules/redisearch.so"]', ` ${searchDenials}`],
        ["JSON", '["/usr/lib/redis/modules/rejson.so"]', " -json.debug"],
        [
            "the probabilistic types and time series",
            '["/usr/lib/redis/modules/redisbloom.so","/usr/lib/redis/modules/redistimeseries.so"]',
            " -bf.debug -cf.debug -timeseries.clusterset -timeseries.refreshcluster",
        ],
        ["redis-stack's RediSearch", '["/opt/redis-stack/lib/redisearch.so"]', ` ${stackSearchDenials}`],
        ["redis-stack's RedisJSON", '["/opt/redis-stack/lib/rejson.so"]', " -json.debug"],
        [
            "redis-stack's RedisBloom and RedisTimeSeries",
            '["/opt/redis-stack/lib/redisbloom.so","/opt/redis-stack/lib/redistimeseries.so"]',
            "",
        ],
    ])("keeps the application user from the admin commands of %s", (_, modules, denials) => {
        const custom = loadSettings(
            overridingReader({ modules, ...(modules.includes("/opt/redis-stack/") && { redisSource: "redis-stack" }) }),
        );
        expect(lines(file(renderRedisNode(custom, redis1, passwords), "/etc/redis/users.acl"))).toContain(
            `user app on ${hash("app")} ~* &app:* +@all -@admin -@dangerous +info +role${denials}`,
        );
    });

    it("holds no password in plain text", () => {
        const acl = file(renderRedisNode(settings, redis1, passwords), "/etc/redis/users.acl");
        for (const principal of principals) {
            expect(acl).not.toContain(passwords[principal]);
        }
    });

    it("takes the application user's name and rules from config", () => {
        const custom = loadSettings(overridingReader({ appUser: "shop", appUserRules: "~cart:* -@all +get +set" }));
        expect(lines(file(renderRedisNode(custom, redis1, passwords), "/etc/redis/users.acl"))).toContain(
            `user shop on ${hash("app")} ~cart:* -@all +get +set ${moduleDenials}`,
        );
    });
});

describe("redis.conf", () => {
    it("sets up the initial master", () => {
        const conf = lines(file(renderRedisNode(settings, redis1, passwords), "/etc/redis/redis.conf"));
        expect(conf).toEqual([
            "port 6379",
            "bind 192.168.55.10 127.0.0.1",
            "protected-mode no",
            "daemonize no",
            'logfile ""',
            "dir /data",
            "aclfile /data/conf/users.acl",
            "replica-announce-ip 192.168.55.10",
            "replica-announce-port 6379",
            "repl-diskless-sync-delay 0",
            "masteruser replication",
            `masterauth ${passwords.replication}`,
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            "lazyfree-lazy-user-del yes",
            "lazyfree-lazy-user-flush yes",
            "lazyfree-lazy-server-del yes",
            "lazyfree-lazy-expire yes",
            "lazyfree-lazy-eviction yes",
            "replica-lazy-flush yes",
            "min-replicas-to-write 1",
            "min-replicas-max-lag 1",
            "loadmodule /usr/lib/redis/modules/redisearch.so",
            "loadmodule /usr/lib/redis/modules/rejson.so",
        ]);
    });

    it("starts the other nodes as replicas of the first", () => {
        const conf = lines(file(renderRedisNode(settings, redis2, passwords), "/etc/redis/redis.conf"));
        expect(conf).toContain("port 6380");
        expect(conf).toContain("replica-announce-ip 192.168.55.11");
        expect(conf[conf.length - 1]).toBe("replicaof 192.168.55.10 6379");
    });

    it("loads no module when the list is empty", () => {
        const bare = loadSettings(overridingReader({ modules: "[]" }));
        expect(file(renderRedisNode(bare, redis1, passwords), "/etc/redis/redis.conf")).not.toContain("loadmodule");
    });
});

describe("sentinel.conf", () => {
    it("monitors the initial master with the seed's users and the configured timing", () => {
        const conf = lines(file(renderSentinelNode(settings, sentinel1, passwords), "/etc/redis/sentinel.conf"));
        expect(conf).toEqual([
            "port 26379",
            "bind 192.168.55.20 127.0.0.1",
            "protected-mode no",
            "daemonize no",
            'logfile ""',
            "dir /data",
            `sentinel myid ${sentinelMyid("mymaster", sentinel1)}`,
            "sentinel announce-ip 192.168.55.20",
            "sentinel announce-port 26379",
            "sentinel resolve-hostnames no",
            "sentinel monitor mymaster 192.168.55.10 6379 2",
            "sentinel auth-user mymaster sentinelredis",
            `sentinel auth-pass mymaster ${passwords.sentinelredis}`,
            "sentinel down-after-milliseconds mymaster 3500",
            "sentinel failover-timeout mymaster 15000",
            "sentinel parallel-syncs mymaster 1",
            "sentinel sentinel-user sentinelsentinel",
            `sentinel sentinel-pass ${passwords.sentinelsentinel}`,
            `sentinel known-sentinel mymaster 192.168.55.21 26379 ${sentinelMyid("mymaster", sentinel2)}`,
            `sentinel known-sentinel mymaster 192.168.55.22 26379 ${sentinelMyid("mymaster", sentinel3)}`,
            "user default off resetpass resetkeys resetchannels -@all",
            `user admin on ${hash("admin")} ~* &* +@all`,
            `user sentinelsentinel on ${hash("sentinelsentinel")} &* +@all`,
            `user clientsentinel on ${hash("clientsentinel")} -@all &* +auth +client|getname +client|id +client|setname +command +hello +ping +role +sentinel|get-master-addr-by-name +sentinel|master +sentinel|masters +sentinel|myid +sentinel|replicas +sentinel|slaves +sentinel|sentinels +subscribe +psubscribe +client|setinfo`,
            `user failover on ${hash("failover")} -@all +auth +hello +ping +sentinel|failover`,
            `user metrics on ${hash("metrics")} -@all +client|setname +info +sentinel|masters +sentinel|slaves +sentinel|sentinels +sentinel|ckquorum`,
        ]);
    });

    it("lets clients of Redis 7.2+ announce themselves (CLIENT SETINFO), but not on Redis 7.0, which refuses the rule", () => {
        const clientLine = (source: string) =>
            lines(
                file(
                    renderSentinelNode(
                        loadSettings(
                            overridingReader({
                                redisSource: source,
                                modules: "[]",
                                ...(source === "redis-stack"
                                    ? {}
                                    : { baseImage: source === "debian" ? "debian:bookworm" : "debian:trixie" }),
                            }),
                        ),
                        sentinel1,
                        passwords,
                    ),
                    "/etc/redis/sentinel.conf",
                ),
            ).find((line) => line.startsWith("user clientsentinel "));
        expect(clientLine("redis-stack")).toMatch(/ \+client\|setinfo$/);
        expect(clientLine("debian")).not.toContain("setinfo");
        expect(clientLine("valkey")).toMatch(/ \+client\|setinfo$/);
        const onLine = (redisStackVersion: string) =>
            lines(
                file(
                    renderSentinelNode(loadSettings(overridingReader({ redisStackVersion })), sentinel1, passwords),
                    "/etc/redis/sentinel.conf",
                ),
            ).find((line) => line.startsWith("user clientsentinel "));
        expect(onLine("7.2.0-v18")).toMatch(/ \+client\|setinfo$/);
    });

    it("gives every Sentinel its own stable 40-hex id", () => {
        expect(sentinelMyid("mymaster", sentinel1)).toMatch(/^[0-9a-f]{40}$/);
        expect(sentinelMyid("mymaster", sentinel1)).not.toBe(sentinelMyid("mymaster", sentinel2));
        expect(sentinelMyid("mymaster", sentinel1)).toBe(sentinelMyid("mymaster", { ...sentinel1 }));
    });
});

describe("node.env", () => {
    it("tells the entrypoint who it is, where the Sentinels are and how to ask them", () => {
        expect(lines(file(renderRedisNode(settings, redis2, passwords), "/etc/redis/node.env"))).toEqual([
            "NODE_KIND=redis",
            "NODE_NAME=redis2",
            "NODE_IP=192.168.55.11",
            "NODE_PORT=6380",
            "MASTER_NAME=mymaster",
            "SENTINELS=192.168.55.20:26379,192.168.55.21:26379,192.168.55.22:26379",
            "REDIS_NODES=192.168.55.10:6379,192.168.55.11:6380,192.168.55.12:6381",
            "SENTINEL_USER=clientsentinel",
            `SENTINEL_PASSWORD=${passwords.clientsentinel}`,
            "FAILOVER_USER=failover",
            `FAILOVER_PASSWORD=${passwords.failover}`,
            "HEALTH_USER=replication",
            `HEALTH_PASSWORD=${passwords.replication}`,
        ]);
        const sentinelEnv = lines(file(renderSentinelNode(settings, sentinel2, passwords), "/etc/redis/node.env"));
        expect(sentinelEnv).toContain("HEALTH_USER=clientsentinel");
        // Only a Redis node may ask for a failover.
        expect(sentinelEnv.some((line) => line.startsWith("FAILOVER_"))).toBe(false);
    });
});

describe("renderCluster", () => {
    it("renders every container's files", () => {
        const cluster = renderCluster(settings, passwords);
        expect(Object.keys(cluster)).toEqual(["redis1", "redis2", "redis3", "sentinel1", "sentinel2", "sentinel3"]);
    });

    it("is deterministic: the same inputs give the same bytes", () => {
        const again = loadSettings(() => undefined);
        expect(JSON.stringify(renderCluster(again, { ...passwords }))).toBe(JSON.stringify(renderCluster(settings, passwords)));
    });

    it("changes the files when a password changes, so the containers are replaced", () => {
        const changed = { ...passwords, replication: "another-Password-0123456789" };
        expect(renderCluster(settings, changed).redis2).not.toEqual(renderCluster(settings, passwords).redis2);
    });
});
