/**
 * Every ACL user of the cluster and its rights: the one place the templates, the program and the tests read.
 * Lists follow the seed, hardened where the Redis Sentinel documentation is stricter (see README, "ACL").
 */

/** The cluster's own users that log in with a password. */
const systemPrincipals = [
    "admin",
    "replication",
    "sentinelredis",
    "sentinelsentinel",
    "clientsentinel",
    "failover",
    "metrics",
] as const;

/** Built-in user names; the application user may not take one of them. */
export const builtinUsers = ["default", ...systemPrincipals] as const;

/** The principals that have a password: the built-in ones and the application user. `default` has none. */
export const principals = [...systemPrincipals, "app"] as const;
export type Principal = (typeof principals)[number];

/** Which kind of instance a user lives on. */
export type InstanceKind = "redis" | "sentinel";

export interface AclProfile {
    /** The principal whose password the user logs in with; undefined for the disabled `default` user. */
    readonly principal?: Principal;
    /** Rules after the name and password, in ACL syntax. */
    readonly rules: readonly string[];
    /** Why the user exists, in one line. */
    readonly purpose: string;
}

/** `default` answers any connection that does not AUTH; it is switched off and stripped of every right. */
const disabledDefault: AclProfile = {
    rules: ["off", "resetpass", "resetkeys", "resetchannels", "-@all"],
    purpose: "disabled: every connection must log in as a named user",
};

const admin: AclProfile = {
    principal: "admin",
    rules: ["~*", "&*", "+@all"],
    purpose: "operators: full rights on every instance",
};

/** The commands a Sentinel sends to every Redis node (seed list; the pub/sub right narrowed to its hello channel). */
export const sentinelToRedisCommands = [
    "+multi",
    "+slaveof",
    "+ping",
    "+exec",
    "+subscribe",
    "+config|rewrite",
    "+role",
    "+publish",
    "+info",
    "+client|setname",
    "+client|kill",
    "+script|kill",
] as const;

/**
 * What a Sentinel-aware client may ask a Sentinel: discovery only, never SET, FAILOVER, CONFIG or ACL.
 * SUBSCRIBE/PSUBSCRIBE let clients hear of a failover at once (ioredis `failoverDetector` subscribes to
 * +switch-master; node-redis PSUBSCRIBEs to six event patterns); without them they stay on a dead master.
 */
export const clientToSentinelCommands = [
    "+auth",
    "+client|getname",
    "+client|id",
    "+client|setname",
    "+command",
    "+hello",
    "+ping",
    "+role",
    "+sentinel|get-master-addr-by-name",
    "+sentinel|master",
    "+sentinel|masters",
    "+sentinel|myid",
    "+sentinel|replicas",
    // The Redis 7 name of REPLICAS has an ACL rule of its own; ioredis (role "slave"), redis-py and Lettuce send it.
    "+sentinel|slaves",
    "+sentinel|sentinels",
    "+subscribe",
    "+psubscribe",
] as const;

/**
 * The Sentinel channels a client may subscribe to: all of them. A Sentinel's channels carry only its events
 * (addresses and states that SENTINEL MASTER/REPLICAS already show), and clients cannot PUBLISH. A narrower list
 * would have to repeat each library's exact PSUBSCRIBE patterns, which ACLs compare literally.
 */
export const clientToSentinelChannels = ["&*"] as const;

/**
 * What the Prometheus exporter (Debian's prometheus-redis-exporter 1.45, run with `config-command -`) sends to a Redis
 * node, read from the ACL LOG of real processes (test/integration/metrics.test.ts checks it). Left out on purpose:
 * CONFIG GET (it returns masterauth, the replication password, in clear text), and SLOWLOG GET (it returns the
 * arguments of slow commands: keys and values); without the latter the exporter only lacks
 * redis_last_slow_execution_duration_seconds. Each scrape's refused SLOWLOG GET is one ACL LOG entry, counted.
 */
export const metricsToRedisCommands = ["+client|setname", "+info", "+latency|latest", "+slowlog|len"] as const;

/** What the exporter sends to a Sentinel (it reads INFO, then each master's replicas, Sentinels and quorum check). */
export const metricsToSentinelCommands = [
    "+client|setname",
    "+info",
    "+sentinel|masters",
    "+sentinel|slaves",
    "+sentinel|sentinels",
    "+sentinel|ckquorum",
] as const;

/** The exporter's user: read-only statistics, no keys, no channels, no configuration. */
const metricsUser = (commands: readonly string[]): AclProfile => ({
    principal: "metrics",
    rules: ["-@all", ...commands],
    purpose: "the Prometheus exporter reads statistics with it (metrics.enabled)",
});

/**
 * Module commands that administer or debug a module rather than read or write data, by the module's path.
 * Redis refuses to start on an ACL rule that names an unknown command, so each list holds only names that build of
 * the module registers.
 * - redis-stack (RediSearch 2.8/2.10 standalone, RedisJSON 2.6/2.8): its modules give their commands no ACL category,
 *   so `-@admin -@dangerous` does not reach them.
 * - Redis Open Source 8 (the modules bundled with the server): FT.CONFIG is in @admin, the rest in no admin category;
 *   FT.DEBUG became the internal _FT.DEBUG, which no client connection can call. The names are those of `COMMAND` on a
 *   Redis 8.4 package install (not run here: packages.redis.io is out of reach).
 */
const stackLib = "/opt/redis-stack/lib";
const redisLib = "/usr/lib/redis/modules";
// FT.CONFIG SET changes server-wide limits; the _...IFX/_...IFNX commands are internal to Active-Active replication.
const searchReplicaOf = [
    "ft._createifnx",
    "ft._alterifnx",
    "ft._dropifx",
    "ft._dropindexifx",
    "ft._aliasaddifnx",
    "ft._aliasdelifx",
];
export const moduleAdminCommands: Readonly<Record<string, readonly string[]>> = {
    [`${stackLib}/redisearch.so`]: ["ft.config", "ft.debug", ...searchReplicaOf],
    [`${stackLib}/rejson.so`]: ["json.debug"],
    [`${stackLib}/redisbloom.so`]: [],
    [`${stackLib}/redistimeseries.so`]: [],
    // SEARCH.CLUSTER* and TIMESERIES.*CLUSTER* configure the modules' cluster coordination.
    [`${redisLib}/redisearch.so`]: [
        "ft.config",
        ...searchReplicaOf,
        "search.clusterset",
        "search.clusterrefresh",
        "search.clusterinfo",
    ],
    [`${redisLib}/rejson.so`]: ["json.debug"],
    [`${redisLib}/redisbloom.so`]: ["bf.debug", "cf.debug"],
    [`${redisLib}/redistimeseries.so`]: ["timeseries.clusterset", "timeseries.refreshcluster"],
};

/** The rules that keep the application user from the admin commands of the loaded modules. */
export function moduleAdminDenials(modules: readonly string[]): string[] {
    return modules.flatMap((module) => {
        const commands = moduleAdminCommands[module];
        if (commands === undefined) {
            throw new Error(`no ACL knowledge of module ${module}; add its admin commands to moduleAdminCommands`);
        }
        return commands.map((command) => `-${command}`);
    });
}

/**
 * Builds the Redis-side profiles, keyed by user name. The application user's name and rules come from stack config;
 * the admin commands of the loaded modules are denied after them.
 */
export function redisAclProfiles(
    appUser: { readonly name: string; readonly rules: string },
    modules: readonly string[] = [],
): Record<string, AclProfile> {
    return {
        default: disabledDefault,
        admin,
        replication: {
            principal: "replication",
            // INFO: a restarting node reads its peers' replication offsets (image/entrypoint.sh); it reveals nothing
            // that PSYNC, which streams the whole dataset, does not.
            rules: ["-@all", "+psync", "+replconf", "+ping", "+info"],
            purpose:
                "replicas log in to their master with it (masteruser/masterauth); a restarting node reads its peers' offsets",
        },
        sentinelredis: {
            principal: "sentinelredis",
            rules: ["-@all", "&__sentinel__:hello", ...sentinelToRedisCommands],
            purpose: "Sentinels monitor and reconfigure Redis with it (sentinel auth-user/auth-pass)",
        },
        // A master that is being stopped pauses writes until a replica has everything, then has the Sentinels promote
        // it (image/entrypoint.sh, hand_over); on the Sentinels the same user may ask for that failover.
        failover: {
            principal: "failover",
            // INFO: the replication offset as of the pause, on the same connection; replication has it too.
            rules: ["-@all", "+auth", "+hello", "+ping", "+info", "+client|pause", "+client|unpause"],
            purpose: "a master that is being stopped pauses writes, and reads its offset, before it hands over",
        },
        metrics: metricsUser(metricsToRedisCommands),
        [appUser.name]: {
            principal: "app",
            rules: [...appUser.rules.trim().split(/\s+/), ...moduleAdminDenials(modules)],
            purpose: "client programs read and write data with it",
        },
    };
}

/**
 * Redis 7.2+ clients send CLIENT SETINFO on every connection (and ignore a refusal, which only fills the ACL LOG).
 * Redis 7.0 refuses to load an ACL rule that names it, so it is granted only where the server knows it.
 */
export const clientSetinfoCommand = "+client|setinfo";

/** The Sentinel-side profiles for a Redis version line, keyed by user name. */
export function sentinelAclProfilesFor(redisVersion: string): Readonly<Record<string, AclProfile>> {
    if (redisVersion === "7.0") {
        return sentinelAclProfiles;
    }
    const { clientsentinel } = sentinelAclProfiles;
    return {
        ...sentinelAclProfiles,
        clientsentinel: { ...clientsentinel, rules: [...clientsentinel.rules, clientSetinfoCommand] },
    };
}

/** The Sentinel-side profiles that every supported Redis version accepts, keyed by user name. */
export const sentinelAclProfiles: Readonly<Record<string, AclProfile>> = {
    default: disabledDefault,
    admin,
    sentinelsentinel: {
        principal: "sentinelsentinel",
        rules: ["&*", "+@all"],
        purpose: "Sentinels talk to each other with it (sentinel sentinel-user/sentinel-pass)",
    },
    clientsentinel: {
        principal: "clientsentinel",
        rules: ["-@all", ...clientToSentinelChannels, ...clientToSentinelCommands],
        purpose: "clients ask the Sentinels where the master is",
    },
    // A Redis node that comes back with an empty volume while the Sentinels still name it master must not start as
    // master (its replicas would copy the empty dataset); it asks for a replica to be promoted instead.
    failover: {
        principal: "failover",
        rules: ["-@all", "+auth", "+hello", "+ping", "+sentinel|failover"],
        purpose: "a Redis node that came back empty asks the Sentinels to promote a replica first",
    },
    metrics: metricsUser(metricsToSentinelCommands),
};
