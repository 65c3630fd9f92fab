/**
 * Host faults (a whole Docker host taken away), measured the way a user feels them: a client writes all the time (ioredis through the
 * Sentinels, each write confirmed with WAIT 1), a host is taken away, the Sentinels on the other hosts elect a new
 * master, the host comes back, and every confirmed write must be on the new master.
 */
import { setTimeout as delay } from "timers/promises";
import * as fs from "fs";
import * as path from "path";
import Docker from "dockerode";
import { NodeAddress } from "../../settings/types";
import { address, ClusterDescription, loginAs } from "./cluster";
import { longestGap, missingWrites, requireHealthy, startConfirmingWriter, waitHealthy } from "./failover";
import { parseInfo, withConnection } from "./observe";
import { pollUntil } from "./poll";

/** A node of the stack outputs, with the host it was placed on. */
type PlacedNode = NodeAddress & { readonly host?: string };

/**
 * A client of a host's Docker engine from its endpoint, as the Docker CLI reads DOCKER_HOST: unix:///path, ssh://
 * (through the SSH agent, SSH_AUTH_SOCK) or tcp:// (https on 2376 or with DOCKER_TLS_VERIFY, with the certificates of
 * DOCKER_CERT_PATH).
 */
export function engineAt(endpoint: string): Docker {
    if (endpoint.startsWith("unix://")) {
        return new Docker({ socketPath: endpoint.slice("unix://".length) });
    }
    const url = new URL(endpoint);
    if (url.protocol === "ssh:") {
        return new Docker({
            protocol: "ssh",
            host: url.hostname,
            port: Number(url.port || 22),
            username: url.username,
            sshOptions: { agent: process.env.SSH_AUTH_SOCK },
        } as Docker.DockerOptions);
    }
    const tls = url.port === "2376" || process.env.DOCKER_TLS_VERIFY === "1";
    const certPath = process.env.DOCKER_CERT_PATH;
    const read = (file: string) => (certPath ? fs.readFileSync(path.join(certPath, file)) : undefined);
    return new Docker({
        protocol: tls ? "https" : "http",
        host: url.hostname,
        port: Number(url.port || (tls ? 2376 : 2375)),
        ...(tls && certPath ? { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") } : {}),
    });
}

/** Freezes a host as a stalled machine: every running container on its engine paused; thaw unpauses them. */
export function freezeHost(engine: Docker): HostFault {
    return {
        inflict: async () => {
            const running = await engine.listContainers();
            await Promise.all(running.map((info) => engine.getContainer(info.Id).pause()));
            return Date.now();
        },
        undo: async () => {
            const paused = await engine.listContainers({ filters: JSON.stringify({ status: ["paused"] }) });
            await Promise.all(paused.map((info) => engine.getContainer(info.Id).unpause()));
        },
    };
}

export interface HostFaultReport {
    readonly host: string;
    readonly oldMaster: string;
    /** The new master, or the old one when there was no failover (expectFailover false). */
    readonly newMaster: string;
    /** The fault until every Sentinel on another host names the new master (0 without a failover). */
    readonly failoverMs: number;
    /** The longest time between two confirmed writes. */
    readonly writeGapMs: number;
    /** Undoing the fault until the cluster is healthy again (TILT included). */
    readonly healMs: number;
    readonly confirmed: number;
    readonly lost: number;
}

export interface HostFault {
    /** Takes the host away; resolves with the time it was done (epoch ms). */
    inflict(host: string): Promise<number>;
    /** While the host is away: checks that start as soon as the fault is done, beside the wait for the failover. */
    during?(host: string, inflictedAt: number): Promise<void>;
    /** Brings the host back. */
    undo(host: string): Promise<void>;
}

/** What one Sentinel names as the master, or undefined when it does not answer. */
export const masterNamedBy = (description: ClusterDescription, sentinel: NodeAddress) =>
    withConnection(sentinel, loginAs(description, "clientsentinel"), async (client) => {
        const [ip, port] = (await client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", description.masterName)) as string[];
        return `${ip}:${port}`;
    }).catch(() => undefined);

/** The host a node ("ip:port") was placed on. */
export function hostOf(description: ClusterDescription, nodeAddress: string): string {
    const node = [...description.redisNodes, ...description.sentinelNodes].find(
        (candidate) => address(candidate) === nodeAddress,
    ) as PlacedNode | undefined;
    if (!node?.host) {
        throw new Error(`${nodeAddress} is not a placed node of the cluster`);
    }
    return node.host;
}

/** True once the node at `node` is a replica of `master` with its link up. */
export const isLinkedReplicaOf = (description: ClusterDescription, node: NodeAddress, master: string) =>
    withConnection(node, loginAs(description, "admin"), async (client) => {
        const info = parseInfo(await client.info("replication"));
        return info.role === "slave" && `${info.master_host}:${info.master_port}` === master && info.master_link_status === "up";
    }).catch(() => false);

/**
 * Runs one host fault with a writer going. `pickHost` chooses the host from the master's ("ip:port"); with
 * `expectFailover`, waits for the Sentinels of the other hosts to agree on a new master, otherwise checks that they
 * never name another one. Then undoes the fault and waits (within `healBoundMs`, TILT included) until the cluster is
 * healthy, and counts the confirmed writes the master lacks.
 */
export async function runHostFault(
    description: ClusterDescription,
    fault: HostFault,
    options: {
        readonly pickHost: (master: string) => string;
        readonly expectFailover: boolean;
        /** How long the fault lasts at least (ms from inflict): for faults without a failover, or a timed cut. */
        readonly holdMs?: number;
        readonly failoverBoundMs: number;
        readonly healBoundMs: number;
    },
): Promise<HostFaultReport> {
    const oldMaster = await waitHealthy(description, options.healBoundMs);
    const host = options.pickHost(oldMaster);
    const others = description.sentinelNodes.filter((sentinel) => (sentinel as PlacedNode).host !== host);
    const writer = startConfirmingWriter(description, 20, Date.now() + 10 * 60_000);
    let inflictedAt = 0;
    let failoverMs = 0;
    let newMaster = oldMaster;
    let undoneAt = 0;
    try {
        await pollUntil("the writer's first confirmed write", async () => (writer.confirmed.length > 0 ? true : undefined), {
            timeoutMs: 30_000,
        });
        inflictedAt = await fault.inflict(host);
        const during = fault.during?.(host, inflictedAt);
        during?.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
        if (options.expectFailover) {
            newMaster = await pollUntil(
                `the Sentinels off ${host} to agree on a new master`,
                async () => {
                    const named = await Promise.all(others.map((sentinel) => masterNamedBy(description, sentinel)));
                    const agreed = named.every((master) => master !== undefined && master === named[0] && master !== oldMaster);
                    return agreed ? named[0] : undefined;
                },
                { timeoutMs: options.failoverBoundMs + 30_000, intervalMs: 50 },
            );
            failoverMs = Date.now() - inflictedAt;
            await pollUntil(
                "a confirmed write on the new master",
                async () => (writer.confirmed.some((write) => write.at > inflictedAt) ? true : undefined),
                { timeoutMs: 30_000, intervalMs: 20 },
            ).catch(async (error: Error) => {
                // Say what the cluster looks like from here, to tell a client's fault from the cluster's.
                const state = await requireHealthy(description).then(
                    (master) => `healthy, master ${master}`,
                    (problem: Error) => problem.message,
                );
                throw new Error(
                    `${error.message}; the writer's last errors: ${writer.lastErrors().join(" | ")}; the cluster: ${state}`,
                );
            });
        }
        await during;
        const held = inflictedAt + (options.holdMs ?? 0) - Date.now();
        if (held > 0) {
            await delay(held);
        }
        if (!options.expectFailover) {
            const named = await Promise.all(others.map((sentinel) => masterNamedBy(description, sentinel)));
            if (named.some((master) => master !== oldMaster)) {
                throw new Error(`the Sentinels off ${host} named ${named.join(", ")}: a failover nobody needed`);
            }
        }
    } finally {
        undoneAt = Date.now();
        if (inflictedAt > 0) {
            await fault.undo(host);
        }
    }
    let healedMaster: string;
    try {
        healedMaster = await waitHealthy(description, options.healBoundMs);
    } finally {
        await writer.stop();
    }
    if (healedMaster !== newMaster) {
        throw new Error(`after ${host} came back the master is ${healedMaster}, not ${newMaster}`);
    }
    return {
        host,
        oldMaster,
        newMaster,
        failoverMs,
        writeGapMs: longestGap(writer.confirmed),
        healMs: Date.now() - undoneAt,
        confirmed: writer.confirmed.length,
        lost: await missingWrites(description, newMaster, writer.confirmed),
    };
}

export const describeReport = (what: string, report: HostFaultReport) =>
    `${what}: host ${report.host}, master ${report.oldMaster} -> ${report.newMaster}, failover ${report.failoverMs} ms, ` +
    `longest write gap ${report.writeGapMs} ms, healed ${report.healMs} ms after the host came back, ` +
    `${report.confirmed} confirmed, ${report.lost} lost`;
