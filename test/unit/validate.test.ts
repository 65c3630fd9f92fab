import { builtinUsers } from "../../acl";
import { engineOf, switchRefusal } from "../../settings/engine";
import {
    ImageSettings,
    loadPasswordOverrides,
    loadSettings,
    overridingReader,
    parseNodeList,
    Topology,
    validateAppUser,
    validateImage,
    validatePassword,
    validateTopology,
} from "../../settings";

const defaults = loadSettings(() => undefined);
const topology = (change: Partial<Topology>): Topology => ({ ...defaults.topology, ...change });
const image = (change: Partial<ImageSettings>): ImageSettings => ({ ...defaults.image, ...change });
const nodes = (key: string, ...entries: string[]) => parseNodeList(key, entries);

describe("the defaults", () => {
    it("are valid and follow the seed", () => {
        expect(() => validateTopology(defaults.topology)).not.toThrow();
        expect(defaults.topology.redisNodes.map((n) => `${n.name}=${n.ip}:${n.port}`)).toEqual([
            "redis1=192.168.55.10:6379",
            "redis2=192.168.55.11:6380",
            "redis3=192.168.55.12:6381",
        ]);
        expect(defaults.topology.sentinelNodes.map((n) => `${n.name}=${n.ip}:${n.port}`)).toEqual([
            "sentinel1=192.168.55.20:26379",
            "sentinel2=192.168.55.21:26379",
            "sentinel3=192.168.55.22:26379",
        ]);
        expect(defaults.topology).toMatchObject({
            subnet: "192.168.55.0/24",
            gateway: "192.168.55.1",
            masterName: "mymaster",
            quorum: 2,
        });
    });
});

describe("parseNodeList", () => {
    it.each([
        ["redis1-192.168.55.10:6379", 'not of the form "name=ip:port"'],
        ["redis1=192.168.55.10", 'not of the form "name=ip:port"'],
        ["redis1=192.168.55.300:6379", '"192.168.55.300" is not an IPv4 address'],
        ["redis1=192.168.55.10:0", "port 0 is out of range 1-65535"],
        ["redis1=192.168.55.10:70000", "port 70000 is out of range 1-65535"],
        ["-redis=192.168.55.10:6379", '"-redis" is not a valid container name'],
    ])("rejects %s", (entry, message) => {
        expect(() => parseNodeList("redisNodes", [entry])).toThrow(message);
        expect(() => parseNodeList("redisNodes", [entry])).toThrow("`redisNodes`");
    });
});

describe("validateTopology", () => {
    it.each<[string, Partial<Topology>, string]>([
        ["a malformed CIDR", { subnet: "192.168.55.0/33" }, '`subnet` "192.168.55.0/33" is not an IPv4 CIDR'],
        ["a CIDR that is not one", { subnet: "redisnet" }, '`subnet` "redisnet" is not an IPv4 CIDR'],
        ["host bits in the subnet", { subnet: "192.168.55.7/24" }, "has host bits set"],
        ["a subnet with no room", { subnet: "192.168.55.0/31" }, "is too small"],
        [
            "a gateway outside the subnet",
            { gateway: "10.0.0.1" },
            '`gateway` address "10.0.0.1" is outside the subnet 192.168.55.0/24',
        ],
        ["a node outside the subnet", { redisNodes: nodes("redisNodes", "redis1=192.168.56.10:6379") }, "is outside the subnet"],
        [
            "a node on the gateway",
            { redisNodes: nodes("redisNodes", "redis1=192.168.55.1:6379") },
            '"192.168.55.1" is the gateway',
        ],
        ["a node on the broadcast address", { redisNodes: nodes("redisNodes", "redis1=192.168.55.255:6379") }, "broadcast"],
        [
            "duplicate names",
            { redisNodes: nodes("redisNodes", "redis1=192.168.55.10:6379", "redis1=192.168.55.11:6379") },
            '`redisNodes` name "redis1" is used twice',
        ],
        [
            "a name shared by a node and a Sentinel",
            { sentinelNodes: nodes("sentinelNodes", "redis2=192.168.55.20:26379") },
            '`sentinelNodes` name "redis2" is used twice',
        ],
        [
            "duplicate IP:port pairs",
            { sentinelNodes: nodes("sentinelNodes", "s1=192.168.55.20:26379", "s2=192.168.55.20:26379") },
            "address 192.168.55.20:26379 is already used by s1",
        ],
        [
            "one address for two containers",
            { sentinelNodes: nodes("sentinelNodes", "s1=192.168.55.10:26379") },
            "address 192.168.55.10:26379 is already used by redis1",
        ],
        ["no Redis node", { redisNodes: [] }, "`redisNodes` must list at least one node"],
        ["zero Sentinels", { sentinelNodes: [] }, "`sentinelNodes` must list at least one Sentinel"],
        ["quorum 0", { quorum: 0 }, "`quorum` must be an integer between 1 and 3, got 0"],
        ["quorum above the Sentinels", { quorum: 4 }, "`quorum` must be an integer between 1 and 3, got 4"],
        ["a fractional quorum", { quorum: 1.5 }, "`quorum` must be an integer between 1 and 3, got 1.5"],
        ["a tiny down-after", { downAfterMilliseconds: 10 }, "`downAfterMilliseconds` must be an integer at least 500, got 10"],
        ["a tiny failover-timeout", { failoverTimeout: 0 }, "`failoverTimeout` must be an integer at least 1000, got 0"],
        ["zero parallel syncs", { parallelSyncs: 0 }, "`parallelSyncs` must be an integer at least 1, got 0"],
        [
            "more replicas to write than exist",
            { minReplicasToWrite: 3 },
            "`minReplicasToWrite` must be an integer between 0 and 2, got 3",
        ],
        ["a zero replica lag", { minReplicasMaxLag: 0 }, "`minReplicasMaxLag` must be an integer at least 1, got 0"],
        [
            "a replica lag as long as the failure detection",
            { minReplicasMaxLag: 5, downAfterMilliseconds: 5000 },
            "`minReplicasMaxLag` 5 s must be shorter than `downAfterMilliseconds` 5000",
        ],
        ["a master name with a space", { masterName: "my master" }, '`masterName` "my master" may only contain'],
        ["a bad network name", { networkName: "redis net" }, '`networkName` "redis net" is not a valid Docker network name'],
    ])("rejects %s", (_, change, message) => {
        expect(() => validateTopology(topology(change))).toThrow(message);
    });

    it("accepts a single Sentinel with quorum 1 and one node without the replica guard", () => {
        const single = topology({
            redisNodes: nodes("redisNodes", "solo=192.168.55.10:6379"),
            sentinelNodes: nodes("sentinelNodes", "watch=192.168.55.20:26379"),
            quorum: 1,
            minReplicasToWrite: 0,
        });
        expect(() => validateTopology(single)).not.toThrow();
    });
});

describe("validateImage", () => {
    it.each<[string, Partial<ImageSettings>, string]>([
        [
            "an unknown module path",
            { modules: ["/opt/redis-stack/lib/nosuch.so"] },
            '`modules` entry "/opt/redis-stack/lib/nosuch.so" is not a module',
        ],
        [
            "a module on the Debian source",
            { redisSource: "debian", baseImage: "debian:trixie" },
            "none (this source ships no modules)",
        ],
        [
            "Debian's Redis on a base that names no Debian release",
            { redisSource: "debian", modules: [] },
            '`redisSource` "debian" installs the redis packages of the base image\'s Debian release, and `baseImage` "ubuntu:22.04" names no release the program knows; use one that names bookworm (redis 7.0) or trixie (redis 8.0)',
        ],
        [
            "Valkey on bookworm, which packages none",
            { redisSource: "valkey", modules: [], baseImage: "debian:bookworm-slim" },
            '`redisSource` "valkey" needs a Debian release that packages valkey: `baseImage` "debian:bookworm-slim" is bookworm, which does not; use trixie (valkey 8.1)',
        ],
        [
            "a module on Valkey",
            { redisSource: "valkey", baseImage: "debian:trixie" },
            '`modules` entry "/usr/lib/redis/modules/redisearch.so" is not a module that valkey ships; known: none',
        ],
        [
            "a module listed twice",
            { modules: ["/usr/lib/redis/modules/rejson.so", "/usr/lib/redis/modules/rejson.so"] },
            "is listed twice",
        ],
        [
            "an unknown source",
            { redisSource: "brew" as never },
            '`redisSource` must be one of redis, redis-stack, debian, valkey, got "brew"',
        ],
        [
            "a redis-stack module on Redis Open Source",
            { modules: ["/opt/redis-stack/lib/rejson.so"] },
            '`modules` entry "/opt/redis-stack/lib/rejson.so" is not a module that redis ships; known: one of /usr/lib/redis/modules/redisearch.so,',
        ],
        [
            "a Redis Open Source line the program does not know",
            { redisVersion: "7.4.6" },
            '`redisVersion` "7.4.6" is not a release of a supported Redis Open Source line (8.2.N, 8.4.N, 8.6.N, 8.8.N, 8.10.N)',
        ],
        [
            "a pre-release",
            { redisVersion: "8.9.240" },
            '`redisVersion` "8.9.240" is not a release of a supported Redis Open Source line',
        ],
        ["a version that is not a release", { redisVersion: "8.10" }, '`redisVersion` "8.10" is not a release'],
        [
            "an image name with capitals",
            { imageName: "Redis:latest" },
            '`imageName` "Redis:latest" is not a valid image reference',
        ],
        ["an empty base image", { baseImage: "" }, '`baseImage` "" is not an image reference'],
        [
            "a package version with a space",
            { redisStackVersion: "7.2 .0" },
            '`redisStackVersion` "7.2 .0" is not a package version',
        ],
        [
            "a redis-stack line whose commands the program does not know",
            { redisSource: "redis-stack", modules: [], redisStackVersion: "6.2.6-v19" },
            '`redisStackVersion` "6.2.6-v19" is not a build of a supported line (7.2.0-vN, 7.4.0-vN)',
        ],
    ])("rejects %s", (_, change, message) => {
        expect(() => validateImage(image(change))).toThrow(message);
    });

    it("accepts an empty module list on every source", () => {
        expect(() => validateImage(image({ modules: [] }))).not.toThrow();
        expect(() => validateImage(image({ modules: [], redisSource: "debian", baseImage: "debian:bookworm" }))).not.toThrow();
        expect(() => validateImage(image({ modules: [], redisSource: "valkey", baseImage: "debian:trixie" }))).not.toThrow();
    });

    it.each<[Partial<ImageSettings>, string, string]>([
        [{}, "redis", "8.10"],
        [{ redisVersion: "8.2.9" }, "redis", "8.2"],
        [{ redisSource: "redis-stack" }, "redis", "7.4"],
        [{ redisSource: "redis-stack", redisStackVersion: "7.2.0-v13" }, "redis", "7.2"],
        [{ redisSource: "debian", baseImage: "debian:bookworm" }, "redis", "7.0"],
        [{ redisSource: "debian", baseImage: "redis-sentinel-docker-base:trixie-1" }, "redis", "8.0"],
        [{ redisSource: "valkey", baseImage: "registry.example.com/debian:trixie-slim" }, "valkey", "8.1"],
    ])("knows the engine of %j: %s %s", (change, name, line) => {
        expect(engineOf(image({ modules: [], ...change }))).toEqual(expect.objectContaining({ name, line }));
    });
});

describe("validateAppUser", () => {
    it.each([
        ["a built-in name", { name: "admin", rules: "~* +@read" }, '`appUser` "admin" is already a built-in user'],
        ["a name with a space", { name: "my app", rules: "~* +@read" }, '`appUser` "my app" may only contain'],
        ["empty rules", { name: "app", rules: "  " }, "`appUserRules` is empty"],
        ["a password in the rules", { name: "app", rules: "~* +@all >secret" }, '`appUserRules` token ">secret"'],
        ["nopass", { name: "app", rules: "~* +@all nopass" }, '`appUserRules` token "nopass"'],
        ["switching the user on or off", { name: "app", rules: "on ~* +@all" }, '`appUserRules` token "on"'],
        [
            "all channels",
            { name: "app", rules: "~* &* +@all" },
            '`appUserRules` token "&*" grants the Sentinels\' __sentinel__:*',
        ],
        ["allchannels", { name: "app", rules: "~* allchannels +@all" }, '`appUserRules` token "allchannels" grants'],
        ["ALLCHANNELS", { name: "app", rules: "~* ALLCHANNELS +@all" }, '`appUserRules` token "ALLCHANNELS" grants'],
        ["the hello channel", { name: "app", rules: "~* &__sentinel__:hello +@all" }, 'token "&__sentinel__:hello" grants'],
        ["a prefix pattern", { name: "app", rules: "~* &__sen* +@all" }, 'token "&__sen*" grants'],
        ["a single-character wildcard", { name: "app", rules: "~* &?_sentinel__:* +@all" }, 'token "&?_sentinel__:*" grants'],
        ["a character class", { name: "app", rules: "~* &[_a]_sentinel__:hello +@all" }, 'token "&[_a]_sentinel__:hello"'],
        ["an escaped name", { name: "app", rules: "~* &\\_\\_sentinel__:* +@all" }, "grants the Sentinels'"],
    ])("rejects %s", (_, user, message) => {
        expect(() => validateAppUser(user, builtinUsers)).toThrow(message);
    });
});

describe("validateAppUser accepts channel rules that stay off the Sentinels' channels", () => {
    it.each([
        "~* &app:* +@all -@admin -@dangerous +info +role",
        "~* &__sentinel_ +@all",
        "~* &[^_]* +@all",
        "~* &_[a-z]* +@all",
        "~* resetchannels +@all",
        "~cart:* -@all +get +set",
    ])("%s", (rules) => {
        expect(() => validateAppUser({ name: "app", rules }, builtinUsers)).not.toThrow();
    });
});

describe("validatePassword", () => {
    it.each([
        ["too short", "Short-1", "`adminPassword` is too short: 7 characters, at least 16 needed"],
        ["whitespace", "a-long-enough password", "`adminPassword` contains whitespace"],
        [
            "an ACL password rule",
            ">looks-like-an-acl-rule",
            "`adminPassword` contains a character that ACL or config syntax would interpret",
        ],
        ["a quote", 'long-enough-but-"quoted"', "would interpret"],
        ["a hash", "long-enough-but#commented", "would interpret"],
    ])("rejects a password with %s and never shows it", (_, password, message) => {
        expect(() => validatePassword("adminPassword", password)).toThrow(message);
        let shown = "";
        try {
            validatePassword("adminPassword", password);
        } catch (error) {
            shown = (error as Error).message;
        }
        expect(shown).not.toContain(password);
        expect(shown).toContain("(value hidden)");
    });

    it("accepts a long password of safe characters", () => {
        expect(() => validatePassword("adminPassword", "Correct-Horse_Battery.Staple~42")).not.toThrow();
    });
});

describe("loadSettings and loadPasswordOverrides", () => {
    const load = (values: Record<string, string>) => loadSettings(overridingReader(values));

    it("reads stack values as Pulumi stores them", () => {
        const settings = load({
            quorum: "3",
            redisNodes: JSON.stringify(["a=192.168.55.10:7000", "b=192.168.55.11:7001"]),
            modules: "[]",
        });
        expect(settings.topology.quorum).toBe(3);
        expect(settings.topology.redisNodes).toEqual([
            { name: "a", ip: "192.168.55.10", port: 7000 },
            { name: "b", ip: "192.168.55.11", port: 7001 },
        ]);
        expect(settings.image.modules).toEqual([]);
    });

    it.each([
        [{ quorum: "two" }, '`quorum` must be an integer, got "two"'],
        [{ redisNodes: "redis1=192.168.55.10:6379" }, "`redisNodes` must be a list of strings"],
        [{ modules: "[1]" }, "`modules` must be a list of strings, got [1]"],
        [{ subnet: "192.168.55.0" }, '`subnet` "192.168.55.0" is not an IPv4 CIDR'],
        [
            { redisSource: "debian", baseImage: "debian:bookworm" },
            '`modules` entry "/usr/lib/redis/modules/redisearch.so" is not a module that debian ships',
        ],
    ])("rejects %p", (values, message) => {
        expect(() => load(values)).toThrow(message);
    });

    it("reads the exporters' addresses only when metrics are on", () => {
        expect(load({}).metrics).toMatchObject({ enabled: false, port: 9121, exporters: {} });
        // A stack without metrics may resize its cluster without touching the exporters' list.
        expect(() => load({ redisNodes: JSON.stringify(["a=192.168.55.10:7000"]), minReplicasToWrite: "0" })).not.toThrow();
        expect(load({ metricsEnabled: "true" }).metrics.exporters).toEqual({
            redis1: "192.168.55.40",
            redis2: "192.168.55.41",
            redis3: "192.168.55.42",
            sentinel1: "192.168.55.43",
            sentinel2: "192.168.55.44",
            sentinel3: "192.168.55.45",
        });
    });

    const exporters = (...entries: string[]) => ({ metricsEnabled: "true", metricsExporters: JSON.stringify(entries) });
    const others = ["redis2", "redis3", "sentinel1", "sentinel2", "sentinel3"].map((node, i) => `${node}=192.168.55.${41 + i}`);
    it.each([
        [{ metricsEnabled: "yes" }, '`metricsEnabled` must be true or false, got "yes"'],
        [{ metricsPort: "70000" }, "`metricsPort` must be an integer between 1 and 65535, got 70000"],
        [{ metricsImageName: "Exporter" }, '`metricsImageName` "Exporter" is not a valid image reference'],
        [exporters("redis1"), '`metricsExporters` entry "redis1" is not of the form "node=ip"'],
        [exporters("redis1=192.168.55.40", "redis1=192.168.55.46"), '`metricsExporters` names node "redis1" twice'],
        [exporters("redis9=192.168.55.40", ...others), '`metricsExporters` entry "redis9=192.168.55.40" names no node'],
        [exporters("redis1=10.0.0.4", ...others), '`metricsExporters` entry redis1: address "10.0.0.4" is outside the subnet'],
        [
            exporters("redis1=192.168.55.10", ...others),
            '`metricsExporters` entry redis1: address "192.168.55.10" is already used by node redis1',
        ],
        [exporters("redis1=192.168.55.1", ...others), 'address "192.168.55.1" is already used by the gateway'],
        [exporters("redis1=192.168.55.41", ...others), 'address "192.168.55.41" is already used by the exporter of redis1'],
        [exporters(...others), "`metricsExporters` has no address for redis1; with metricsEnabled every node needs one"],
    ])("rejects the metrics settings %p", (values, message) => {
        expect(() => load(values)).toThrow(message);
    });

    it("takes passwords the stack sets, validates them and leaves the rest to be generated", () => {
        const overrides = loadPasswordOverrides(
            overridingReader({ adminPassword: "Admin-password-0123456789", appPassword: "" }),
        );
        expect(overrides).toEqual({ admin: "Admin-password-0123456789" });
        expect(() => loadPasswordOverrides(overridingReader({ replicationPassword: "short" }))).toThrow(
            "`replicationPassword` is too short",
        );
    });
});

describe("switching engine on a running cluster", () => {
    const target = (change: Partial<ImageSettings>) => engineOf(image({ modules: [], ...change }));

    it.each<[string, string[], Partial<ImageSettings>]>([
        ["Redis 7.0 to Valkey 8.1", ["redis 7.0.15"], { redisSource: "valkey", baseImage: "debian:trixie" }],
        ["Redis 7.0 to Redis 8.0", ["redis 7.0.15"], { redisSource: "debian", baseImage: "debian:trixie" }],
        ["Redis 7.0 to redis-stack 7.4", ["redis 7.0.15", "redis 7.0.15"], { redisSource: "redis-stack" }],
        ["redis-stack 7.4 to Redis Open Source 8.10 (the new default)", ["redis 7.4.6"], {}],
        ["Valkey 8.1 to Redis Open Source 8.10", ["valkey 8.1.1"], {}],
        ["Redis 8.8 to 8.10", ["redis 8.8.2"], {}],
        ["Valkey 8.1 to Redis 8.0", ["valkey 8.1.1"], { redisSource: "debian", baseImage: "debian:trixie" }],
        ["Redis 8.2 to a later 8.2 release", ["redis 8.2.7"], { redisVersion: "8.2.9" }],
        ["Redis 8.10 to an earlier 8.10 release (the same line)", ["redis 8.10.2"], { redisVersion: "8.10.1" }],
        [
            "Redis 7.2 to Valkey 8.1 (Valkey forked from 7.2)",
            ["redis 7.2.4"],
            { redisSource: "valkey", baseImage: "debian:trixie" },
        ],
        [
            "a rollout half done (Redis 7.0 and Valkey 8.1) to Valkey 8.1",
            ["redis 7.0.15", "valkey 8.1.1"],
            { redisSource: "valkey", baseImage: "debian:trixie" },
        ],
        ["an engine line the program does not know", ["keydb 6.3.4"], { redisSource: "debian", baseImage: "debian:bookworm" }],
    ])("lets %s go ahead", (_, running, change) => {
        expect(switchRefusal(running, target(change))).toBeUndefined();
    });

    it.each<[string, string[], Partial<ImageSettings>, string]>([
        [
            "Redis 8.0 to Valkey 8.1",
            ["redis 8.0.2", "redis 8.0.2"],
            { redisSource: "valkey", baseImage: "debian:trixie" },
            "refusing to switch engine: the nodes run redis 8.0.2 (RDB format 12), and the new image's valkey 8.1 reads RDB formats up to 11",
        ],
        [
            "Valkey 8.1 to Redis 7.0",
            ["valkey 8.1.1"],
            { redisSource: "debian", baseImage: "debian:bookworm" },
            "the nodes run valkey 8.1.1 (RDB format 11), and the new image's redis 7.0 reads RDB formats up to 10",
        ],
        [
            "redis-stack 7.4 to Redis 7.0",
            ["redis 7.4.6"],
            { redisSource: "debian", baseImage: "debian:bookworm" },
            "the nodes run redis 7.4.6 (RDB format 12)",
        ],
        [
            "Redis 8.10 back to 8.8",
            ["redis 8.10.2"],
            { redisVersion: "8.8.2" },
            "the nodes run redis 8.10.2 (RDB format 15), and the new image's redis 8.8 reads RDB formats up to 14",
        ],
        [
            "Redis 8.10 to Valkey 8.1",
            ["redis 8.10.2"],
            { redisSource: "valkey", baseImage: "debian:trixie" },
            "the nodes run redis 8.10.2 (RDB format 15)",
        ],
        [
            "Redis 8.0 to redis-stack 7.4, a downgrade in the same format",
            ["redis 8.0.2"],
            { redisSource: "redis-stack" },
            "refusing to downgrade: the nodes run redis 8.0.2, newer than the new image's redis 7.4",
        ],
        [
            "Redis 8.4 to 8.2, a downgrade in the same format",
            ["redis 8.4.6", "redis 8.4.6"],
            { redisVersion: "8.2.9" },
            "refusing to downgrade: the nodes run redis 8.4.6, newer than the new image's redis 8.2",
        ],
    ])("refuses %s, naming the engines and their formats", (_, running, change, message) => {
        expect(switchRefusal(running, target(change))).toContain(message);
    });
});
