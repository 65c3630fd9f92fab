/**
 * The lab: several real Docker engines on one machine, each a `dockerd` in a network namespace of its own with its
 * own address on a bridge the lab makes: the project's own test hosts, to which alone the multi-host tests send
 * traffic. The test process (the root namespace) reaches every host at its address across the bridge, as a client
 * on another machine would. Every wait is bounded, and stop() leaves nothing behind (nor does a later start after a
 * crashed run: it removes what an earlier lab left first).
 *
 * Checked facts it relies on: `ip netns exec` remounts /sys and dockerd then fails ("Devices cgroup isn't mounted"),
 * so dockerd starts under `nsenter --net=`; it then runs a containerd of its own, in the same namespace, so that
 * `--network host` containers live in the host's namespace; EXEC_ROOT/netns/default must be unmounted before the
 * namespace is deleted, or its veth stays.
 */
import { execFile, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { setTimeout as delay } from "timers/promises";
import Docker from "dockerode";
import { freezeHost } from "../../tools/lib/hostFault";
import { pollUntil } from "../../tools/lib/poll";

/** The lab's bridge, in the root namespace, and its subnet: host i (from 1) is at .10+i, the root side at .1. */
export const labBridge = "rsd-lab";
export const labSubnetPrefix = "10.77.0";
const labRoot = "/var/lib/redis-sentinel-lab";
/** Short: containerd's sockets live under it, and a socket path may not exceed 107 bytes. */
const labRun = "/run/rsd";

export interface LabHost {
    readonly name: string;
    /** The network namespace, also the root side of its veth. */
    readonly netns: string;
    readonly address: string;
    /** The engine's endpoint, as the Docker provider takes it. */
    readonly endpoint: string;
    readonly docker: Docker;
}

interface HostPaths {
    readonly dataRoot: string;
    readonly execRoot: string;
    readonly pidFile: string;
    readonly socket: string;
    readonly logFile: string;
}

const log = (message: string) => console.log(`lab: ${message}`);

/** Runs a command to completion within `timeoutMs` without blocking the event loop; fails with its output. */
export function sh(command: string, args: readonly string[], timeoutMs = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(command, args, { timeout: timeoutMs, encoding: "utf8" }, (error, stdout, stderr) => {
            if (error) {
                reject(new Error(`${command} ${args.join(" ")}: ${(stderr || error.message).trim()}`));
            } else {
                resolve(stdout);
            }
        });
    });
}

const quietly = (promise: Promise<unknown>) => promise.catch(() => undefined);

const pathsOf = (netns: string): HostPaths => ({
    dataRoot: path.join(labRoot, netns),
    execRoot: path.join(labRun, netns),
    pidFile: path.join(labRun, `${netns}.pid`),
    socket: path.join(labRun, `${netns}.sock`),
    logFile: path.join(labRoot, `${netns}.log`),
});

/**
 * Why the lab cannot run here, or undefined when it can: root, and iproute2, nsenter, dockerd, iptables and the docker
 * CLI. Synchronous, so that jest can decide while it collects tests; it runs once, before any measurement.
 */
export function labUnavailableReason(): string | undefined {
    if (process.getuid?.() !== 0) {
        return "the lab needs root (network namespaces and dockerd)";
    }
    const missing = ["ip", "nsenter", "dockerd", "iptables", "docker"].filter(
        (tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0,
    );
    return missing.length > 0
        ? `the lab needs ${missing.join(", ")} (apt-get install iproute2 util-linux iptables docker.io)`
        : undefined;
}

/** The processes in a namespace: its dockerd, containerd, the shims and every container of the host. */
async function pidsIn(netns: string): Promise<number[]> {
    const out = await sh("ip", ["netns", "pids", netns]).catch(() => "");
    return out.split("\n").filter(Boolean).map(Number);
}

/** Kills every process of a namespace at once (SIGKILL) and waits, bounded, until they are gone. */
async function killAllIn(netns: string): Promise<void> {
    await pollUntil(
        `every process of ${netns} to be gone`,
        async () => {
            const pids = await pidsIn(netns);
            for (const pid of pids) {
                try {
                    process.kill(pid, "SIGKILL");
                } catch {
                    // gone already
                }
            }
            return pids.length === 0 ? true : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200 },
    );
}

/** Unmounts everything below `root` (the overlays, shm and netns mounts a killed engine leaves), deepest first. */
async function unmountBelow(root: string): Promise<void> {
    const mounts = fs
        .readFileSync("/proc/mounts", "utf8")
        .split("\n")
        .map((line) => line.split(" ")[1])
        .filter((mountPoint) => mountPoint !== undefined && (mountPoint === root || mountPoint.startsWith(`${root}/`)))
        .sort((a, b) => b.length - a.length);
    for (const mountPoint of mounts) {
        await quietly(sh("umount", ["-l", mountPoint]));
    }
}

export class Lab {
    private constructor(
        readonly hosts: readonly LabHost[],
        /** The address of the root namespace on the bridge: where the tests' clients come from. */
        readonly gateway: string,
    ) {}

    /** Starts one engine per name (at most 80), each in its own namespace, with the bridge between them. */
    static async start(names: readonly string[]): Promise<Lab> {
        const reason = labUnavailableReason();
        if (reason) {
            throw new Error(reason);
        }
        await Lab.removeLeftovers();
        fs.mkdirSync(labRoot, { recursive: true });
        fs.mkdirSync(labRun, { recursive: true });
        const gateway = `${labSubnetPrefix}.1`;
        await sh("ip", ["link", "add", labBridge, "type", "bridge"]);
        await sh("ip", ["addr", "add", `${gateway}/24`, "dev", labBridge]);
        await sh("ip", ["link", "set", labBridge, "up"]);
        // Docker's own engine loads br_netfilter and drops forwarded packets by default: let the hosts talk.
        await sh("iptables", ["-I", "FORWARD", "-i", labBridge, "-o", labBridge, "-j", "ACCEPT"]);
        const hosts: LabHost[] = [];
        try {
            for (const [index, name] of names.entries()) {
                hosts.push(await Lab.startHost(name, `rsd-${name}`, `${labSubnetPrefix}.${11 + index}`, index));
            }
        } catch (error) {
            await Lab.removeLeftovers();
            throw error;
        }
        return new Lab(hosts, gateway);
    }

    private static async startHost(name: string, netns: string, address: string, index: number): Promise<LabHost> {
        await sh("ip", ["netns", "add", netns]);
        await sh("ip", ["link", "add", netns, "type", "veth", "peer", "name", "eth0", "netns", netns]);
        await sh("ip", ["link", "set", netns, "master", labBridge, "up"]);
        await sh("ip", ["-n", netns, "addr", "add", `${address}/24`, "dev", "eth0"]);
        await sh("ip", ["-n", netns, "link", "set", "eth0", "up"]);
        await sh("ip", ["-n", netns, "link", "set", "lo", "up"]);
        await sh("ip", ["-n", netns, "route", "add", "default", "via", `${labSubnetPrefix}.1`]);
        const host: LabHost = {
            name,
            netns,
            address,
            endpoint: `unix://${pathsOf(netns).socket}`,
            docker: new Docker({ socketPath: pathsOf(netns).socket }),
        };
        await Lab.startEngine(host, index);
        log(`host ${name} up at ${address} (${host.endpoint})`);
        return host;
    }

    /** Starts (or starts again, with its data) the engine of a host, and waits until it answers. */
    private static async startEngine(host: LabHost, index = Number(host.address.split(".")[3]) - 11): Promise<void> {
        const paths = pathsOf(host.netns);
        fs.mkdirSync(paths.dataRoot, { recursive: true });
        fs.mkdirSync(paths.execRoot, { recursive: true });
        const out = fs.openSync(paths.logFile, "a");
        const engine = spawn(
            "nsenter",
            [
                `--net=/var/run/netns/${host.netns}`,
                "dockerd",
                "--data-root",
                paths.dataRoot,
                "--exec-root",
                paths.execRoot,
                "--pidfile",
                paths.pidFile,
                "-H",
                `unix://${paths.socket}`,
                "--bip",
                `172.31.${index}.1/24`,
            ],
            { detached: true, stdio: ["ignore", out, out] },
        );
        engine.unref();
        fs.closeSync(out);
        await pollUntil(`the engine of ${host.name} to answer`, () => host.docker.ping().then(() => true), {
            timeoutMs: 60_000,
            intervalMs: 250,
        }).catch((error: Error) => {
            const tail = fs.existsSync(paths.logFile) ? fs.readFileSync(paths.logFile, "utf8").split("\n").slice(-15) : [];
            throw new Error(`${error.message}; its log:\n${tail.join("\n")}`);
        });
    }

    host(name: string): LabHost {
        const host = this.hosts.find((candidate) => candidate.name === name);
        if (!host) {
            throw new Error(`no lab host ${name}; the lab has ${this.hosts.map((h) => h.name).join(", ")}`);
        }
        return host;
    }

    /** Copies an image of `source` (by id or tag) into every host's engine: `docker save | docker load`. */
    async loadImage(source: Docker, reference: string): Promise<void> {
        for (const host of this.hosts) {
            const started = Date.now();
            const image = (await source.getImage(reference).get()) as NodeJS.ReadableStream;
            const stream = await host.docker.loadImage(image, { quiet: true });
            await new Promise<void>((resolve, reject) => {
                host.docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve()));
            });
            log(`loaded ${reference} into ${host.name} in ${Date.now() - started} ms`);
        }
    }

    /** Freezes a host: every container on it paused (`docker pause`), as a stalled machine. Returns when done. */
    freeze(name: string): Promise<number> {
        return freezeHost(this.host(name).docker).inflict(name);
    }

    thaw(name: string): Promise<void> {
        return freezeHost(this.host(name).docker).undo(name);
    }

    /** Cuts a host off the network: its link to the bridge goes down (the cable pulled). */
    async cut(name: string): Promise<number> {
        await sh("ip", ["link", "set", this.host(name).netns, "down"]);
        return Date.now();
    }

    async reconnect(name: string): Promise<void> {
        await sh("ip", ["link", "set", this.host(name).netns, "up"]);
    }

    /** Powers a host off: its engine and every container on it killed at once (SIGKILL), volumes kept. */
    async powerOff(name: string): Promise<number> {
        const host = this.host(name);
        await killAllIn(host.netns);
        const killedAt = Date.now();
        const paths = pathsOf(host.netns);
        // What a reboot clears: the mounts and runtime state of the dead engine (its data root stays).
        await unmountBelow(paths.execRoot);
        await unmountBelow(paths.dataRoot);
        fs.rmSync(paths.execRoot, { recursive: true, force: true });
        fs.rmSync(paths.pidFile, { force: true });
        return killedAt;
    }

    /** Powers a host on again: its engine starts with the data it had, and restarts its containers (unless-stopped). */
    async powerOn(name: string): Promise<void> {
        await Lab.startEngine(this.host(name));
    }

    /** Removes the whole lab: every engine and container killed, mounts, namespaces, bridge and data removed. */
    async stop(): Promise<void> {
        await Lab.removeLeftovers();
    }

    /** Removes whatever a lab (this one, or a crashed run's) left: by the names it uses, so it needs no record. */
    static async removeLeftovers(): Promise<void> {
        const namespaces = (await sh("ip", ["netns", "list"]).catch(() => ""))
            .split("\n")
            .map((line) => line.split(" ")[0])
            .filter((netns) => netns.startsWith("rsd-"));
        for (const netns of namespaces) {
            await quietly(killAllIn(netns));
            await unmountBelow(pathsOf(netns).execRoot);
            await unmountBelow(pathsOf(netns).dataRoot);
            await quietly(sh("ip", ["netns", "delete", netns]));
            await quietly(sh("ip", ["link", "delete", netns]));
        }
        if (fs.existsSync(`/sys/class/net/${labBridge}`)) {
            await quietly(sh("ip", ["link", "delete", labBridge]));
        }
        for (let attempt = 0; attempt < 5; attempt++) {
            try {
                await sh("iptables", ["-D", "FORWARD", "-i", labBridge, "-o", labBridge, "-j", "ACCEPT"]);
            } catch {
                break;
            }
        }
        await unmountBelow(labRun);
        await unmountBelow(labRoot);
        fs.rmSync(labRun, { recursive: true, force: true });
        fs.rmSync(labRoot, { recursive: true, force: true });
        await delay(0);
    }
}
