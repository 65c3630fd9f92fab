/**
 * The ACL matrix: every principal against Redis and against Sentinel, run on real servers by the integration suite
 * (local processes) and by the e2e suite of the other engines (containers). The commands a profile grants come from
 * acl/profiles.ts (each rule has a sample invocation below, so a new rule without one fails here); the denied ones
 * are chosen to cover what each user must never do.
 *
 * "run" probes execute the command as the user; "dryrun" probes ask `ACL DRYRUN` (as admin) for commands that would
 * disturb the cluster if they ran (SLAVEOF, CLIENT KILL, PSYNC, SHUTDOWN, ...).
 */
import Redis from "ioredis";
import { AclProfile, principals, redisAclProfiles, sentinelAclProfiles } from "../../acl";
import { loadSettings } from "../../settings";

export type Target = "redis" | "sentinel";
export type Expectation = "ok" | "noperm" | "noauth" | "wrongpass";

export interface Probe {
    readonly target: Target;
    /** The user the connection logs in as; null: no AUTH at all. */
    readonly user: string | null;
    /** The command; `{password:USER}` stands for USER's password (test names never show one). */
    readonly command: readonly string[];
    readonly expect: Expectation;
    readonly via: "run" | "dryrun";
}

export const masterName = "mymaster";
export const appUser = "app";
const password = (user: string) => `{password:${user}}`;
const notAPassword = "not-the-password-0123456789";

/** A harmless invocation of every command rule that a profile grants. */
const sampleInvocation: Readonly<Record<string, readonly string[]>> = {
    "+multi": ["MULTI"],
    "+exec": ["EXEC"],
    "+slaveof": ["SLAVEOF", "NO", "ONE"],
    "+ping": ["PING"],
    "+subscribe": ["SUBSCRIBE", "__sentinel__:hello"],
    "+config|rewrite": ["CONFIG", "REWRITE"],
    "+role": ["ROLE"],
    "+publish": ["PUBLISH", "__sentinel__:hello", "probe"],
    "+info": ["INFO", "replication"],
    "+client|setname": ["CLIENT", "SETNAME", "acl-probe"],
    "+client|pause": ["CLIENT", "PAUSE", "1", "WRITE"],
    "+client|unpause": ["CLIENT", "UNPAUSE"],
    "+client|kill": ["CLIENT", "KILL", "TYPE", "pubsub"],
    "+script|kill": ["SCRIPT", "KILL"],
    "+psync": ["PSYNC", "?", "-1"],
    "+replconf": ["REPLCONF", "listening-port", "1"],
    // failover is the one user on both kinds of instance.
    "+auth": ["AUTH", "failover", password("failover")],
    "+client|getname": ["CLIENT", "GETNAME"],
    "+client|id": ["CLIENT", "ID"],
    "+command": ["COMMAND", "COUNT"],
    "+hello": ["HELLO", "2"],
    "+sentinel|get-master-addr-by-name": ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName],
    "+sentinel|master": ["SENTINEL", "MASTER", masterName],
    "+sentinel|masters": ["SENTINEL", "MASTERS"],
    "+sentinel|myid": ["SENTINEL", "MYID"],
    "+sentinel|replicas": ["SENTINEL", "REPLICAS", masterName],
    "+sentinel|slaves": ["SENTINEL", "SLAVES", masterName],
    "+sentinel|failover": ["SENTINEL", "FAILOVER", masterName],
    "+sentinel|sentinels": ["SENTINEL", "SENTINELS", masterName],
    "+psubscribe": ["PSUBSCRIBE", "*"],
    "+unsubscribe": ["UNSUBSCRIBE"],
    "+punsubscribe": ["PUNSUBSCRIBE"],
    "+latency|latest": ["LATENCY", "LATEST"],
    "+slowlog|len": ["SLOWLOG", "LEN"],
    "+sentinel|ckquorum": ["SENTINEL", "CKQUORUM", masterName],
    "+client|setinfo": ["CLIENT", "SETINFO", "LIB-NAME", "acl-probe"],
};

/** Rules that change the cluster when they run: their grant is checked with ACL DRYRUN instead. */
const disruptive = new Set([
    "+sentinel|failover",
    "+slaveof",
    "+client|kill",
    "+psync",
    "+replconf",
    "+publish",
    "+multi",
    "+exec",
    "+script|kill",
    "+client|pause",
]);

const commandRules = (rules: readonly string[]) => rules.filter((rule) => rule.startsWith("+") && !rule.startsWith("+@"));

function granted(target: Target, user: string, rules: readonly string[]): Probe[] {
    return commandRules(rules).map((rule) => {
        const command = sampleInvocation[rule];
        if (command === undefined) {
            throw new Error(`no sample invocation for ACL rule ${rule} of ${user}; add one to sampleInvocation`);
        }
        return { target, user, command, expect: "ok", via: disruptive.has(rule) ? "dryrun" : "run" };
    });
}

const run = (target: Target, user: string | null, expect: Expectation, ...commands: string[][]): Probe[] =>
    commands.map((command) => ({ target, user, command, expect, via: "run" }));
const dryrun = (target: Target, user: string, expect: Expectation, ...commands: string[][]): Probe[] =>
    commands.map((command) => ({ target, user, command, expect, via: "dryrun" }));

const redisProfiles = redisAclProfiles({ name: appUser, rules: loadSettings(() => undefined).appUser.rules });

/**
 * The exact commands each Sentinel-aware library sends to a Sentinel to find the master and the replicas (read from
 * their sources: ioredis 5 SentinelConnector, node-redis 6.3 RedisSentinel, redis-py 4/5 Sentinel).
 */
const discoveryCommands: Readonly<Record<string, readonly string[][]>> = {
    ioredis: [
        ["SENTINEL", "sentinels", masterName],
        ["SENTINEL", "get-master-addr-by-name", masterName],
        ["SENTINEL", "slaves", masterName],
    ],
    "node-redis": [
        ["SENTINEL", "SENTINELS", masterName],
        ["SENTINEL", "MASTER", masterName],
        ["SENTINEL", "REPLICAS", masterName],
        ["PSUBSCRIBE", "switch-master", "[-+]sdown", "+slave", "+sentinel", "[-+]odown", "+slave-reconf-done"],
    ],
    "redis-py": [
        ["SENTINEL", "MASTERS"],
        ["SENTINEL", "SLAVES", masterName],
        ["SENTINEL", "SENTINELS", masterName],
    ],
};

/**
 * The matrix for servers whose Sentinels take `sentinelProfiles` (sentinelAclProfilesFor the engine's line: Redis 7.2
 * and later, and Valkey, grant clients CLIENT SETINFO).
 */
export function aclProbes(sentinelProfiles: Readonly<Record<string, AclProfile>> = sentinelAclProfiles): Probe[] {
    return [
        // default: disabled on both kinds of instance; no connection gets anywhere without logging in.
        ...run("redis", null, "noauth", ["PING"], ["GET", "k"]),
        ...run("redis", null, "wrongpass", ["AUTH", "default", notAPassword], ["HELLO", "2", "AUTH", "default", notAPassword]),
        ...run("sentinel", null, "noauth", ["PING"], ["SENTINEL", "MASTERS"]),
        ...run("sentinel", null, "wrongpass", ["AUTH", "default", notAPassword], ["HELLO", "2", "AUTH", "default", notAPassword]),

        // Users of one kind of instance do not exist on the other.
        ...["replication", "sentinelredis", appUser].map(
            (user) => run("sentinel", null, "wrongpass", ["AUTH", user, password(user)])[0],
        ),
        ...["sentinelsentinel", "clientsentinel"].map(
            (user) => run("redis", null, "wrongpass", ["AUTH", user, password(user)])[0],
        ),
        ...run(
            "redis",
            null,
            "ok",
            ...["admin", "replication", "sentinelredis", "failover", "metrics", appUser].map((user) => [
                "AUTH",
                user,
                password(user),
            ]),
        ),
        ...run(
            "sentinel",
            null,
            "ok",
            ...["admin", "sentinelsentinel", "clientsentinel", "failover", "metrics"].map((user) => [
                "AUTH",
                user,
                password(user),
            ]),
        ),

        // admin: everything, everywhere.
        ...run(
            "redis",
            "admin",
            "ok",
            ["SET", "acl:admin", "1"],
            ["GET", "acl:admin"],
            ["CONFIG", "GET", "min-replicas-to-write"],
            ["ACL", "WHOAMI"],
        ),
        ...run(
            "sentinel",
            "admin",
            "ok",
            ["SENTINEL", "MASTERS"],
            ["SENTINEL", "CONFIG", "GET", "resolve-hostnames"],
            ["ACL", "WHOAMI"],
        ),
        ...dryrun(
            "sentinel",
            "admin",
            "ok",
            ["SENTINEL", "FAILOVER", masterName],
            ["SENTINEL", "SET", masterName, "quorum", "2"],
        ),

        // replication: the replication handshake, and INFO for a restarting node's look at its peers.
        ...granted("redis", "replication", redisProfiles.replication.rules),
        ...run(
            "redis",
            "replication",
            "noperm",
            ["GET", "k"],
            ["SET", "k", "v"],
            ["CONFIG", "GET", "maxmemory"],
            ["CLIENT", "LIST"],
            ["KEYS", "*"],
        ),

        // sentinelredis: what a Sentinel sends to Redis, and its hello channel only; no data.
        ...granted("redis", "sentinelredis", redisProfiles.sentinelredis.rules),
        ...run(
            "redis",
            "sentinelredis",
            "noperm",
            ["GET", "k"],
            ["SET", "k", "v"],
            ["DEL", "k"],
            ["KEYS", "*"],
            ["CONFIG", "GET", "maxmemory"],
        ),
        ...run("redis", "sentinelredis", "noperm", ["CONFIG", "SET", "maxmemory", "1"], ["ACL", "LIST"], ["FLUSHALL"]),
        ...run("redis", "sentinelredis", "noperm", ["SUBSCRIBE", "other"], ["PUBLISH", "other", "x"]),

        // The application user: data commands on its own channels; nothing administrative or dangerous, and never the
        // Sentinels' hello channel, where a forged message adds fake Sentinels.
        ...run("redis", appUser, "noperm", ["PUBLISH", "__sentinel__:hello", "x"], ["SUBSCRIBE", "__sentinel__:hello"]),
        ...run("redis", appUser, "noperm", ["PSUBSCRIBE", "__sentinel__:*"], ["PSUBSCRIBE", "*"], ["PUBLISH", "other", "x"]),
        ...run("redis", appUser, "ok", ["SUBSCRIBE", "app:events"], ["PSUBSCRIBE", "app:*"]),

        ...run(
            "redis",
            appUser,
            "ok",
            ["SET", "acl:app", "1"],
            ["GET", "acl:app"],
            ["DEL", "acl:app"],
            ["INFO", "replication"],
            ["ROLE"],
        ),
        ...run("redis", appUser, "ok", ["PUBLISH", "app:events", "x"]),
        ...run(
            "redis",
            appUser,
            "noperm",
            ["CONFIG", "GET", "maxmemory"],
            ["ACL", "LIST"],
            ["FLUSHALL"],
            ["KEYS", "*"],
            ["MONITOR"],
        ),
        ...run("redis", appUser, "noperm", ["CLIENT", "KILL", "TYPE", "pubsub"], ["CLIENT", "LIST"]),
        // DEBUG is refused before the ACL check unless enable-debug-command is set, so only DRYRUN shows the ACL's answer.
        ...dryrun("redis", appUser, "noperm", ["REPLICAOF", "NO", "ONE"], ["SHUTDOWN"], ["DEBUG", "SLEEP", "0"]),

        // failover on Redis: a master that is being stopped pauses writes and reads its offset, and nothing else.
        ...granted("redis", "failover", redisProfiles.failover.rules),
        ...run("redis", "failover", "noperm", ["GET", "k"], ["SET", "k", "v"], ["CONFIG", "GET", "*"], ["CLIENT", "LIST"]),
        ...dryrun("redis", "failover", "noperm", ["CLIENT", "KILL", "TYPE", "normal"], ["REPLICAOF", "NO", "ONE"], ["SHUTDOWN"]),

        // failover: SENTINEL FAILOVER for a node that came back empty, and nothing else (not even where the master is).
        ...granted("sentinel", "failover", sentinelProfiles.failover.rules),
        ...run("sentinel", "failover", "noperm", ["SENTINEL", "MASTERS"], ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName]),
        ...run("sentinel", "failover", "noperm", ["SENTINEL", "SET", masterName, "quorum", "1"], ["SENTINEL", "RESET", "*"]),
        ...run("sentinel", "failover", "noperm", ["SUBSCRIBE", "+switch-master"], ["INFO"], ["ACL", "WHOAMI"]),
        ...dryrun("sentinel", "failover", "noperm", ["SENTINEL", "REMOVE", masterName], ["SHUTDOWN"]),

        // metrics on Redis: statistics only. Not CONFIG GET, which returns masterauth, nor SLOWLOG GET, which returns the
        // arguments (keys, values) of slow commands; no keys, no channels, nothing that changes the node.
        ...granted("redis", "metrics", redisProfiles.metrics.rules),
        ...run(
            "redis",
            "metrics",
            "noperm",
            ["CONFIG", "GET", "masterauth"],
            ["SLOWLOG", "GET", "1"],
            ["GET", "k"],
            ["SET", "k", "v"],
        ),
        ...run(
            "redis",
            "metrics",
            "noperm",
            ["KEYS", "*"],
            ["SCAN", "0"],
            ["CLIENT", "LIST"],
            ["SUBSCRIBE", "__sentinel__:hello"],
        ),
        ...run("redis", "metrics", "noperm", ["MONITOR"], ["ACL", "LIST"], ["LATENCY", "RESET"], ["SLOWLOG", "RESET"]),
        ...dryrun("redis", "metrics", "noperm", ["REPLICAOF", "NO", "ONE"], ["CLIENT", "KILL", "TYPE", "normal"], ["SHUTDOWN"]),

        // metrics on a Sentinel: what the exporter reads about the masters, and no failover, no configuration.
        ...granted("sentinel", "metrics", sentinelProfiles.metrics.rules),
        ...run("sentinel", "metrics", "noperm", ["SENTINEL", "FAILOVER", masterName], ["SENTINEL", "CONFIG", "GET", "*"]),
        ...run("sentinel", "metrics", "noperm", ["SENTINEL", "SET", masterName, "quorum", "1"], ["SENTINEL", "RESET", "*"]),
        ...run("sentinel", "metrics", "noperm", ["SUBSCRIBE", "+switch-master"], ["ACL", "LIST"], ["CLIENT", "LIST"]),
        ...dryrun("sentinel", "metrics", "noperm", ["PUBLISH", "__sentinel__:hello", "x"], ["SHUTDOWN"]),

        // sentinelsentinel: full rights on Sentinels.
        ...run("sentinel", "sentinelsentinel", "ok", ["PING"], ["SENTINEL", "MASTERS"], ["SENTINEL", "MYID"], ["ACL", "WHOAMI"]),
        ...dryrun("sentinel", "sentinelsentinel", "ok", ["PUBLISH", "__sentinel__:hello", "probe"]),

        // clientsentinel: discovery only, including every command the client libraries send for it.
        ...granted("sentinel", "clientsentinel", sentinelProfiles.clientsentinel.rules),
        ...Object.values(discoveryCommands).flatMap((commands) => run("sentinel", "clientsentinel", "ok", ...commands)),
        ...run("sentinel", "clientsentinel", "noperm", ["SENTINEL", "SET", masterName, "down-after-milliseconds", "1000"]),
        ...run("sentinel", "clientsentinel", "noperm", ["SENTINEL", "FAILOVER", masterName], ["SENTINEL", "CONFIG", "GET", "*"]),
        ...run("sentinel", "clientsentinel", "noperm", ["SENTINEL", "RESET", "*"], ["SENTINEL", "REMOVE", masterName]),
        ...run(
            "sentinel",
            "clientsentinel",
            "noperm",
            ["SENTINEL", "MONITOR", "other", "127.0.0.1", "1", "1"],
            ["SENTINEL", "FLUSHCONFIG"],
        ),
        ...run("sentinel", "clientsentinel", "noperm", ["SENTINEL", "CKQUORUM", masterName], ["ACL", "LIST"], ["ACL", "WHOAMI"]),
        ...run("sentinel", "clientsentinel", "noperm", ["INFO"], ["CLIENT", "LIST"], ["CLIENT", "KILL", "TYPE", "normal"]),
        ...run("sentinel", "clientsentinel", "noperm", ["PUBLISH", "__sentinel__:hello", "x"]),
        ...dryrun(
            "sentinel",
            "clientsentinel",
            "noperm",
            ["SHUTDOWN"],
            ["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "1", "0", "*"],
        ),
    ];
}

export const describeProbe = (probe: Probe) =>
    `${probe.user ?? "(no login)"} on ${probe.target}: ${probe.via === "dryrun" ? "ACL DRYRUN " : ""}${probe.command.join(" ")} -> ${probe.expect}`;

/** What a refusal means, from the error reply. */
export function classify(error: unknown): Expectation | "other" {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith("NOPERM")) {
        return "noperm";
    }
    if (message.startsWith("NOAUTH")) {
        return "noauth";
    }
    if (message.startsWith("WRONGPASS")) {
        return "wrongpass";
    }
    return "other";
}

/** Where the matrix runs: a connection to the first Redis node or Sentinel as a user (null: no AUTH), and passwords. */
export interface MatrixServers {
    connect(target: Target, user: string | null): Redis;
    passwordOf(user: string): string;
}

/** What one probe gets from the servers. */
export async function outcome(servers: MatrixServers, probe: Probe): Promise<Expectation | "other"> {
    const withPasswords = (command: readonly string[]) =>
        command.map((part) => {
            const match = /^\{password:(.+)\}$/.exec(part);
            return match ? servers.passwordOf(match[1]) : part;
        });
    if (probe.via === "dryrun") {
        const admin = servers.connect(probe.target, "admin");
        try {
            const reply = String(await admin.call("ACL", "DRYRUN", probe.user ?? "default", ...withPasswords(probe.command)));
            return reply === "OK" ? "ok" : /no permissions/.test(reply) ? "noperm" : "other";
        } finally {
            admin.disconnect();
        }
    }
    const client = servers.connect(probe.target, probe.user);
    try {
        const [name, ...args] = withPasswords(probe.command);
        await client.call(name, ...args);
        return "ok";
    } catch (error) {
        return classify(error);
    } finally {
        client.disconnect();
    }
}

/** Checks that the matrix is large enough and covers every principal on both kinds of instance. */
export function matrixCoverage(probes: readonly Probe[]): { size: number; uncovered: string[]; defaultOn: Target[] } {
    const users = principals.map((principal) => (principal === "app" ? appUser : principal));
    return {
        size: probes.length,
        uncovered: users.filter((user) => !probes.some((probe) => probe.user === user || probe.command.includes(user))),
        defaultOn: [...new Set(probes.filter((probe) => probe.command.includes("default")).map((probe) => probe.target))].sort(),
    };
}

/** One leaf of an engine's command table: "get", or "config|get" for a subcommand, with its arity. */
interface CommandEntry {
    readonly name: string;
    readonly arity: number;
    readonly categories: readonly string[];
    /** Flagged no_auth (AUTH, HELLO, QUIT, RESET): the server lets every connection run it, whatever its ACL. */
    readonly noAuth: boolean;
}

/** Every command and subcommand the server has (COMMAND), as leaves: a container command stands for its subcommands. */
export async function commandTable(client: Redis): Promise<CommandEntry[]> {
    type Raw = [string, number, unknown, unknown, unknown, unknown, string[], unknown?, unknown?, Raw[]?];
    const entries = (await client.call("COMMAND")) as Raw[];
    const leaves: CommandEntry[] = [];
    for (const entry of entries) {
        const subcommands = entry[9] ?? [];
        const list = subcommands.length > 0 ? subcommands : [entry];
        for (const leaf of list) {
            leaves.push({
                name: String(leaf[0]).toLowerCase(),
                arity: Number(leaf[1]),
                categories: leaf[6].map(String),
                noAuth: (leaf[2] as string[]).map(String).includes("no_auth"),
            });
        }
    }
    return leaves;
}

/** The words of a harmless invocation with enough arguments for the arity check (ACL DRYRUN checks arity first). */
function invocation(entry: CommandEntry): string[] {
    const words = entry.name.split("|");
    while (words.length < Math.abs(entry.arity)) {
        words.push("x");
    }
    return words;
}

/**
 * What ACL DRYRUN says of `user` running each command: granted (OK, or refused only for the key or channel it
 * names), refused (no permission to run the command), or something else (an argument check), by name.
 */
async function dryrunEach(admin: Redis, user: string, table: readonly CommandEntry[]) {
    const granted: string[] = [];
    const unclear: string[] = [];
    const replies = await Promise.all(
        table.map((entry) =>
            admin.call("ACL", "DRYRUN", user, ...invocation(entry)).then(
                (reply) => String(reply),
                (error: Error) => error.message,
            ),
        ),
    );
    table.forEach((entry, index) => {
        const reply = replies[index];
        if (reply === "OK" || /no permissions to access/.test(reply)) {
            granted.push(entry.name);
        } else if (!/no permissions to run/.test(reply)) {
            unclear.push(`${entry.name}: ${reply}`);
        }
    });
    return { granted, unclear };
}

/** The commands a `-@all ...` profile grants by name or by category, in the table's names. */
export function grantedBy(rules: readonly string[], table: readonly CommandEntry[]): Set<string> {
    const names = new Set<string>();
    for (const rule of rules.filter((candidate) => candidate.startsWith("+"))) {
        const what = rule.slice(1).toLowerCase();
        if (what.startsWith("@")) {
            table.filter((entry) => entry.categories.includes(what)).forEach((entry) => names.add(entry.name));
        } else {
            // A container command granted whole ("+client") grants every subcommand.
            table
                .filter((entry) => entry.name === what || entry.name.startsWith(`${what}|`))
                .forEach((entry) => names.add(entry.name));
        }
    }
    return names;
}

/**
 * Least privilege judged on the server's own command table: each restricted user's (a profile that starts from
 * `-@all`) commands as ACL DRYRUN grants them, beyond what its profile grants by name or category; and on a Redis node,
 * the `@admin` or `@dangerous` commands the application user may run.
 */
export async function leastPrivilege(
    admin: Redis,
    kind: Target,
    profiles: Readonly<Record<string, AclProfile>>,
    appUserName: string,
): Promise<{ beyondProfile: string[]; appPrivileged: string[]; unclear: string[]; tableSize: number; summary: string }> {
    const table = await commandTable(admin);
    const beyondProfile: string[] = [];
    const unclear: string[] = [];
    const counts: string[] = [];
    for (const [user, profile] of Object.entries(profiles)) {
        if (user === "default" || !profile.rules.includes("-@all")) {
            continue;
        }
        const result = await dryrunEach(admin, user, table);
        const allowed = grantedBy(profile.rules, table);
        table.filter((entry) => entry.noAuth).forEach((entry) => allowed.add(entry.name));
        beyondProfile.push(...result.granted.filter((name) => !allowed.has(name)).map((name) => `${user}: ${name}`));
        unclear.push(...result.unclear.map((line) => `${user}: ${line}`));
        counts.push(`${kind} ${user}: ${result.granted.length} of ${table.length}`);
    }
    let appPrivileged: string[] = [];
    if (kind === "redis") {
        const { granted } = await dryrunEach(admin, appUserName, table);
        const privileged = new Set(
            table
                .filter((entry) => entry.categories.some((c) => c === "@admin" || c === "@dangerous"))
                .map((entry) => entry.name),
        );
        appPrivileged = granted.filter((name) => privileged.has(name)).sort();
        counts.push(
            `${kind} ${appUserName}: ${granted.length} of ${table.length}, admin or dangerous: ${appPrivileged.join(" ") || "none"}`,
        );
    }
    return { beyondProfile, appPrivileged, unclear, tableSize: table.length, summary: counts.join("; ") };
}
