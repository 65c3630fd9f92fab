/**
 * A Redis + Sentinel cluster of real `redis-server`/`redis-sentinel` processes on loopback addresses, configured by
 * the program's own rendering code (loadSettings + renderCluster), for integration tests, benchmarks and drills.
 *
 *     const cluster = await startLocalCluster({ redisNodes: 5, sentinels: 5, quorum: 3, downAfterMilliseconds: 2000 });
 *     try {
 *         cluster.freeze(cluster.redisNodes[0].name);            // the initial master
 *         await pollUntil("a new master", async () => ..., { timeoutMs: 30000 });
 *     } finally {
 *         await cluster.stop();
 *     }
 *
 * Any other stack setting goes in `settings`, as Pulumi stores it (`{ minReplicasToWrite: "0" }`); `description()`
 * has the shape of the stack outputs, so tools/ (status, drill) can be pointed at a local cluster.
 *
 * Each node gets its own 127.0.0.x address and a free port. What differs from a container is listed in
 * hostAdaptation.ts. Every process is killed by `stop()`, when start-up fails, and when the Node process exits.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { Principal, principals } from "../../acl";
import { completePasswords, exporterName, Passwords, renderCluster } from "../../render";
import { loadSettings, overridingReader, Settings, TlsAuthClients } from "../../settings";
import { makeClusterPem } from "../../tools/lib/pki";
import { exporterCommand, exporterEnvironment, hostNodeDirs, prepareRuntimeFiles, serverAccount } from "./hostAdaptation";
import { ClusterDescription } from "../../tools/lib/cluster";
import { pollUntil, withTimeout } from "../../tools/lib/poll";

export type NodeKind = "redis" | "sentinel";

export interface LocalClusterOptions {
    /** Redis nodes; the first starts as master. Default 3. */
    readonly redisNodes?: number;
    /** Sentinels. Default 3. */
    readonly sentinels?: number;
    /**
     * Stack config values as Pulumi stores them (strings, JSON for lists), e.g. `{ quorum: "3", minReplicasToWrite: "0" }`.
     * The topology keys (redisNodes, sentinelNodes, subnet, gateway, networkName) are the harness's.
     */
    readonly settings?: Readonly<Record<string, string>>;
    /** Sentinel timing and quorum; shorthands for the settings of the same name. */
    readonly downAfterMilliseconds?: number;
    readonly failoverTimeout?: number;
    readonly quorum?: number;
    /** Passwords to use; missing ones are generated like the render command does. */
    readonly passwords?: Partial<Record<Principal, string>>;
    /** How long start-up may take until replication and every Sentinel are ready (ms). Default 20000. */
    readonly readyTimeoutMs?: number;
    /** Keep the temporary directory after stop() (its files hold passwords). Default false. */
    readonly keepFiles?: boolean;
    /**
     * Run a real Prometheus exporter (`prometheus-redis-exporter`) for every node, with the program's rendered
     * exporter.env (metricsEnabled), once the cluster is ready. Default false.
     */
    readonly metrics?: boolean;
    /**
     * Turn TLS on (tlsEnabled), with a CA and certificates made by openssl (tools/lib/pki.ts) where the program uses
     * @pulumi/tls; the harness's own connections and description() carry the CA and a client certificate.
     */
    readonly tls?: { readonly authClients?: TlsAuthClients };
}

/** One running exporter (LocalClusterOptions.metrics). */
export interface LocalExporter {
    /** The node it watches. */
    readonly node: string;
    readonly kind: NodeKind;
    /** Where it serves its metrics, "http://ip:port/metrics". */
    readonly url: string;
    readonly logFile: string;
}

/** One running server. */
export interface LocalNode {
    readonly name: string;
    readonly kind: NodeKind;
    readonly ip: string;
    readonly port: number;
    readonly pid: number;
    /** The config file the server runs with and rewrites (the container's /data/conf/...). */
    readonly runtimeConf: string;
    /** Standard output and error of the server (what `docker logs` would show). */
    readonly logFile: string;
}

/** The cluster as the Pulumi program's stack outputs describe it (passwords in plain text: tests and local tools only). */
export type { ClusterDescription };

export interface LocalCluster {
    readonly settings: Settings;
    readonly masterName: string;
    readonly passwords: Passwords;
    /** The application user's name (its password is passwords.app). */
    readonly appUser: string;
    readonly redisNodes: readonly LocalNode[];
    readonly sentinelNodes: readonly LocalNode[];
    /** Every node: the Redis nodes, then the Sentinels. */
    readonly nodes: readonly LocalNode[];
    /** The exporters, one per node in the order of `nodes`; empty unless started with `metrics`. */
    readonly exporters: readonly LocalExporter[];
    /** The temporary directory holding every node's files. */
    readonly workDir: string;
    node(name: string): LocalNode;
    /** The Redis node at `ip:port`. */
    nodeAt(address: string): LocalNode;
    /** The password of an ACL user name (admin, replication, ..., the app user). */
    passwordOf(user: string): string;
    /** A connection to a node as `user` (default admin; null: no AUTH), closed by stop(). No retries, 2 s command timeout. */
    connect(name: string, user?: string | null): Redis;
    /**
     * Runs `run` on a fresh connection that is closed afterwards: for polls, since a Sentinel's reconfiguration
     * kills a node's normal connections (CLIENT KILL TYPE normal).
     */
    withConnection<T>(name: string, run: (client: Redis) => Promise<T>, user?: string | null): Promise<T>;
    /** The master address ("ip:port") each Sentinel reports, undefined where one does not answer. */
    mastersSeenBySentinels(): Promise<(string | undefined)[]>;
    /** The master every Sentinel names, once all answer with the same one and it is not `old` ("ip:port"). */
    newMasterAgreed(old: string): Promise<string | undefined>;
    /** SIGSTOP, like `docker compose pause`. */
    freeze(name: string): void;
    /** SIGCONT, like `docker compose unpause`. */
    thaw(name: string): void;
    /** The server's log so far. */
    logs(name: string): string;
    /** Same shape as the program's stack outputs, for operator tools. */
    description(): ClusterDescription;
    /** Writes description() as JSON, mode 0600. */
    writeDescription(file: string): void;
    /** Stops every process (thawing frozen ones first) and removes the files unless keepFiles. */
    stop(): Promise<void>;
}

const redisBase = 10;
const sentinelBase = 60;
/** Exporters sit 100 addresses above their node. */
const exporterOffset = 100;
const maxNodesPerKind = 40;

/** Fails, saying how to get it, unless the exporter's program is installed (`.ci/run` installs it). */
function requireExporter(): void {
    try {
        execFileSync(exporterCommand, ["-version"], { stdio: "ignore", timeout: 5000 });
    } catch {
        throw new Error(
            `startLocalCluster: metrics need ${exporterCommand}, which is not installed (apt-get install prometheus-redis-exporter)`,
        );
    }
}

/** Every child this module started and has not yet seen exit, so that exit hooks can kill them. */
const liveChildren = new Set<ChildProcess>();
let exitHooksInstalled = false;

function installExitHooks(): void {
    if (exitHooksInstalled) {
        return;
    }
    exitHooksInstalled = true;
    const killAll = () => {
        for (const child of liveChildren) {
            if (child.pid !== undefined) {
                try {
                    process.kill(child.pid, "SIGKILL");
                } catch {
                    // already gone
                }
            }
        }
        liveChildren.clear();
    };
    process.on("exit", killAll);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(signal, () => {
            killAll();
            process.kill(process.pid, signal);
        });
    }
}

async function canListen(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
    });
}

async function ephemeralPort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen({ host: "127.0.0.1", port: 0 }, () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

/** A port free on both the node's address and 127.0.0.1 (the rendered configs bind both). */
async function freePort(ip: string, taken: Set<number>): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
        const port = await ephemeralPort();
        if (!taken.has(port) && (await canListen(ip, port)) && (await canListen("127.0.0.1", port))) {
            taken.add(port);
            return port;
        }
    }
    throw new Error(`no free port found for ${ip}`);
}

function checkCount(what: string, count: number): void {
    if (!Number.isInteger(count) || count < 1 || count > maxNodesPerKind) {
        throw new Error(`startLocalCluster: \`${what}\` must be between 1 and ${maxNodesPerKind}, got ${count}`);
    }
}

/** Renders the cluster's files through the program's own code for a loopback topology with free ports. */
async function renderLoopbackCluster(options: LocalClusterOptions) {
    const redisCount = options.redisNodes ?? 3;
    const sentinelCount = options.sentinels ?? 3;
    checkCount("redisNodes", redisCount);
    checkCount("sentinels", sentinelCount);
    const taken = new Set<number>();
    const entries = async (prefix: string, base: number, count: number) => {
        const list: string[] = [];
        for (let index = 0; index < count; index++) {
            const ip = `127.0.0.${base + index}`;
            list.push(`${prefix}${index + 1}=${ip}:${await freePort(ip, taken)}`);
        }
        return list;
    };
    const topology = {
        // What runs here is Debian's redis-server 7.0, which has no modules and no 7.2-only commands.
        redisSource: "debian",
        baseImage: "debian:bookworm",
        modules: "[]",
        networkName: "loopback",
        subnet: "127.0.0.0/8",
        gateway: "127.0.0.1",
        redisNodes: JSON.stringify(await entries("redis", redisBase, redisCount)),
        sentinelNodes: JSON.stringify(await entries("sentinel", sentinelBase, sentinelCount)),
    };
    const exporterAddresses = (list: string) =>
        (JSON.parse(list) as string[]).map((entry) => {
            const [, name, last] = /^([^=]+)=127\.0\.0\.(\d+):/.exec(entry)!;
            return `${name}=127.0.0.${Number(last) + exporterOffset}`;
        });
    const metrics: Record<string, string> = options.metrics
        ? {
              metricsEnabled: "true",
              metricsExporters: JSON.stringify([
                  ...exporterAddresses(topology.redisNodes),
                  ...exporterAddresses(topology.sentinelNodes),
              ]),
          }
        : {};
    const shorthands = Object.fromEntries(
        (["downAfterMilliseconds", "failoverTimeout", "quorum"] as const)
            .filter((key) => options[key] !== undefined)
            .map((key) => [key, String(options[key])]),
    );
    const tls: Record<string, string> = options.tls
        ? { tlsEnabled: "true", tlsAuthClients: options.tls.authClients ?? "no", tlsClientCertificate: "true" }
        : {};
    const settings = loadSettings(overridingReader({ ...options.settings, ...shorthands, ...topology, ...metrics, ...tls }));
    const passwords = completePasswords(options.passwords ?? {});
    const pem = settings.tls.enabled ? makeClusterPem(settings) : undefined;
    return { settings, passwords, pem, files: renderCluster(settings, passwords, pem) };
}

/** Each ACL user's password by user name: every principal's, the application user under its configured name. */
function userPasswords(settings: Settings, passwords: Passwords): Record<string, string> {
    return Object.fromEntries(
        principals.map((principal) => [principal === "app" ? settings.appUser.name : principal, passwords[principal]]),
    );
}

const infoField = (info: string, field: string) => new RegExp(`^${field}:(.*)$`, "m").exec(info)?.[1]?.trim();

/** Starts the cluster and waits until every replica is in sync and every Sentinel sees every replica and Sentinel. */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    installExitHooks();
    const { settings, passwords, pem, files } = await renderLoopbackCluster(options);
    const tlsOptions = pem && { ca: pem.ca, cert: pem.client.cert, key: pem.client.key };
    const { topology } = settings;
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-sentinel-it-"));
    const runAs = serverAccount();
    if (runAs) {
        // The servers' account must traverse the work directory to reach its node's directory.
        fs.chmodSync(workDir, 0o711);
    }
    const credentials = userPasswords(settings, passwords);
    const children = new Map<string, ChildProcess>();
    const clients = new Set<Redis>();
    const nodes = new Map<string, LocalNode>();

    /** Starts one child with its output in `logFile`; it is stopped by stop() and killed when Node exits. */
    const spawnChild = (
        name: string,
        command: string,
        args: string[],
        logFile: string,
        extra: { cwd?: string; env?: NodeJS.ProcessEnv },
    ) => {
        const log = fs.openSync(logFile, "a", 0o600);
        const child = spawn(command, args, { ...extra, stdio: ["ignore", log, log], uid: runAs?.uid, gid: runAs?.gid });
        fs.closeSync(log);
        liveChildren.add(child);
        child.once("exit", () => liveChildren.delete(child));
        child.once("error", () => liveChildren.delete(child));
        if (child.pid === undefined) {
            throw new Error(`could not start ${command} for ${name}`);
        }
        children.set(name, child);
        return child.pid;
    };

    const startNode = (name: string, kind: NodeKind, ip: string, port: number): LocalNode => {
        const nodeDir = path.join(workDir, name);
        const dirs = hostNodeDirs(nodeDir);
        fs.mkdirSync(dirs.dataDir, { recursive: true });
        const runtimeConf = prepareRuntimeFiles(files[name], dirs, runAs);
        const logFile = path.join(nodeDir, "server.log");
        const command = kind === "redis" ? "redis-server" : "redis-sentinel";
        const pid = spawnChild(name, command, [runtimeConf], logFile, { cwd: dirs.dataDir });
        const node: LocalNode = { name, kind, ip, port, pid, runtimeConf, logFile };
        nodes.set(name, node);
        return node;
    };

    const exporters: LocalExporter[] = [];
    if (options.metrics) {
        requireExporter();
    }
    const startExporter = async (watched: LocalNode): Promise<LocalExporter> => {
        const name = exporterName(watched.name);
        const ip = settings.metrics.exporters[watched.name];
        const listen = `${ip}:${await freePort(ip, new Set())}`;
        const logFile = path.join(workDir, watched.name, "exporter.log");
        const env = exporterEnvironment(files[name], listen, path.join(workDir, watched.name, "exporter"));
        const pid = spawnChild(name, exporterCommand, [], logFile, { env });
        const exporter: LocalExporter = { node: watched.name, kind: watched.kind, url: `http://${listen}/metrics`, logFile };
        await pollUntil(
            `${name} to serve`,
            async () =>
                (await fetch(`http://${listen}/health`)
                    .then((reply) => reply.text())
                    .catch(() => "")) === "ok"
                    ? true
                    : undefined,
            { timeoutMs: 10_000, intervalMs: 100 },
        ).catch((error: Error) => {
            throw new Error(`${error.message} (pid ${pid}); its log:\n${fs.readFileSync(logFile, "utf8").slice(-2000)}`);
        });
        exporters.push(exporter);
        return exporter;
    };

    const node = (name: string) => {
        const found = nodes.get(name);
        if (!found) {
            throw new Error(`no node named ${name}`);
        }
        return found;
    };

    const connect = (name: string, user: string | null = "admin") => {
        const target = node(name);
        const password = user === null ? undefined : credentials[user];
        if (user !== null && password === undefined) {
            throw new Error(`no password known for user ${user}`);
        }
        const client = new Redis({
            host: target.ip,
            port: target.port,
            // Without a login, RESP2: ioredis would otherwise open with HELLO 3, which the server refuses before AUTH.
            ...(user === null ? { protocol: 2 as const } : { username: user, password }),
            tls: tlsOptions,
            enableReadyCheck: false,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
            connectTimeout: 2000,
            commandTimeout: 2000,
            // disconnect() waits this long for a frozen or dead server to close the socket (default 2000 ms).
            disconnectTimeout: 200,
            disableClientInfo: true,
        });
        client.on("error", () => undefined);
        clients.add(client);
        client.once("end", () => clients.delete(client));
        return client;
    };

    const oneShot = async <T>(name: string, run: (client: Redis) => Promise<T>, user: string | null = "admin"): Promise<T> => {
        const client = connect(name, user);
        try {
            return await run(client);
        } finally {
            client.disconnect();
        }
    };

    const stopChild = async (child: ChildProcess) => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
            return;
        }
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        try {
            process.kill(child.pid, "SIGCONT");
            process.kill(child.pid, "SIGTERM");
        } catch {
            return;
        }
        try {
            await withTimeout("server shutdown", exited, 3000);
        } catch {
            process.kill(child.pid, "SIGKILL");
            await withTimeout("server kill", exited, 3000).catch(() => undefined);
        }
    };

    let stopped = false;
    const stop = async () => {
        if (stopped) {
            return;
        }
        stopped = true;
        for (const client of clients) {
            client.disconnect();
        }
        await Promise.all([...children.values()].map(stopChild));
        if (!options.keepFiles) {
            fs.rmSync(workDir, { recursive: true, force: true });
        }
    };

    try {
        topology.redisNodes.forEach((address) => startNode(address.name, "redis", address.ip, address.port));
        const [master, ...replicas] = topology.redisNodes;
        const readyTimeoutMs = options.readyTimeoutMs ?? 20000;
        const ready = (what: string, check: () => Promise<boolean>) =>
            pollUntil(what, async () => ((await check()) ? true : undefined), { timeoutMs: readyTimeoutMs, intervalMs: 100 });

        await ready("the master to see every replica online", () =>
            oneShot(master.name, async (client) => {
                const info = await client.info("replication");
                const online = (info.match(/^slave\d+:.*state=online/gm) ?? []).length;
                return infoField(info, "role") === "master" && online === replicas.length;
            }),
        );
        for (const replica of replicas) {
            await ready(`${replica.name} to be in sync`, () =>
                oneShot(
                    replica.name,
                    async (client) => infoField(await client.info("replication"), "master_link_status") === "up",
                ),
            );
        }
        // Sentinels start once replication is up: they list a master's replicas from its INFO, which they refresh
        // only every 10 s, so a Sentinel started earlier would wait that long to see a late replica.
        topology.sentinelNodes.forEach((address) => startNode(address.name, "sentinel", address.ip, address.port));
        for (const sentinel of topology.sentinelNodes) {
            await ready(`${sentinel.name} to see the master, every replica and every other Sentinel`, () =>
                oneShot(sentinel.name, async (client) => {
                    const flat = (await client.call("SENTINEL", "MASTER", topology.masterName)) as string[];
                    const fields = new Map<string, string>();
                    for (let index = 0; index + 1 < flat.length; index += 2) {
                        fields.set(flat[index], flat[index + 1]);
                    }
                    if (
                        fields.get("flags") !== "master" ||
                        fields.get("ip") !== master.ip ||
                        Number(fields.get("num-slaves")) !== replicas.length ||
                        Number(fields.get("num-other-sentinels")) !== topology.sentinelNodes.length - 1
                    ) {
                        return false;
                    }
                    // The rendered config declares the replicas, so a Sentinel lists them before it has linked to
                    // them; until it has, it flags them "disconnected", which npm run status reports as a problem.
                    const listed = (await client.call("SENTINEL", "REPLICAS", topology.masterName)) as string[][];
                    return listed.every((flat) => flat[flat.indexOf("flags") + 1] === "slave");
                }),
            );
        }
        if (options.metrics) {
            for (const address of [...topology.redisNodes, ...topology.sentinelNodes]) {
                await startExporter(node(address.name));
            }
        }
    } catch (error) {
        const exited = [...children.entries()].filter(([, child]) => child.exitCode !== null).map(([name]) => name);
        await stop();
        const detail = exited.length ? ` (exited early: ${exited.join(", ")})` : "";
        throw new Error(`local cluster did not become ready${detail}: ${(error as Error).message}`);
    }

    const redisNodes = topology.redisNodes.map((address) => node(address.name));
    const sentinelNodes = topology.sentinelNodes.map((address) => node(address.name));
    const signal = (name: string, signalName: "SIGSTOP" | "SIGCONT") => {
        const child = children.get(name);
        if (!child || child.pid === undefined || child.exitCode !== null) {
            throw new Error(`${name} is not running`);
        }
        process.kill(child.pid, signalName);
    };

    const description = (): ClusterDescription => ({
        masterName: topology.masterName,
        network: topology.networkName,
        redisNodes: topology.redisNodes.map((address, index) => ({
            name: address.name,
            ip: address.ip,
            port: address.port,
            role: index === 0 ? "master" : "replica",
        })),
        sentinelNodes: topology.sentinelNodes.map(({ name, ip, port }) => ({ name, ip, port })),
        appUser: settings.appUser.name,
        passwords: { ...passwords },
        ...(pem ? { tlsCaCertificate: pem.ca, tlsClientCertificate: pem.client.cert, tlsClientKey: pem.client.key } : {}),
    });

    const mastersSeenBySentinels = (): Promise<(string | undefined)[]> =>
        Promise.all(
            sentinelNodes.map((sentinel) =>
                oneShot(sentinel.name, async (client) => {
                    const reply = (await client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", topology.masterName)) as
                        string[] | null;
                    return reply ? `${reply[0]}:${reply[1]}` : undefined;
                }).catch(() => undefined),
            ),
        );

    return {
        settings,
        masterName: topology.masterName,
        passwords,
        appUser: settings.appUser.name,
        redisNodes,
        sentinelNodes,
        nodes: [...redisNodes, ...sentinelNodes],
        exporters,
        workDir,
        node,
        nodeAt: (address) => {
            const found = redisNodes.find((candidate) => `${candidate.ip}:${candidate.port}` === address);
            if (!found) {
                throw new Error(`no Redis node at ${address}`);
            }
            return found;
        },
        passwordOf: (user) => {
            const password = credentials[user];
            if (password === undefined) {
                throw new Error(`no password known for user ${user}`);
            }
            return password;
        },
        connect,
        withConnection: oneShot,
        mastersSeenBySentinels,
        newMasterAgreed: async (old) => {
            const seen = await mastersSeenBySentinels();
            return seen.every((master) => master !== undefined && master !== old && master === seen[0]) ? seen[0] : undefined;
        },
        freeze: (name) => signal(name, "SIGSTOP"),
        thaw: (name) => signal(name, "SIGCONT"),
        logs: (name) => fs.readFileSync(node(name).logFile, "utf8"),
        description,
        writeDescription: (file) => fs.writeFileSync(file, JSON.stringify(description(), null, 2) + "\n", { mode: 0o600 }),
        stop,
    };
}
