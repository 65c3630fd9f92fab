import * as ipaddr from "ipaddr.js";
import { DockerHost, DockerHostTls, NodeAddress, Topology } from "./types";

const show = (value: unknown) => JSON.stringify(value);
const hostNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The endpoints the Docker provider connects to: its `host` setting. */
const endpointPattern = /^(unix:\/\/\/\S+|ssh:\/\/\S+|tcp:\/\/\S+)$/;

/**
 * Parses `dockerHosts` entries, "name=address endpoint": the host's name (what each node names), the IPv4 address at
 * which peers and clients on other machines reach it, and the Docker endpoint (unix:///..., ssh://user@host[:port],
 * tcp://host:port). Empty: every node runs on the one engine of the default provider, as before.
 */
export function parseDockerHosts(key: string, entries: readonly string[]): DockerHost[] {
    const hosts: DockerHost[] = [];
    for (const entry of entries) {
        const match = /^([^=\s]+)=(\S+)\s+(\S+)$/.exec(entry.trim());
        if (!match) {
            throw new Error(`\`${key}\` entry ${show(entry)} is not of the form "name=address endpoint"`);
        }
        const [, name, address, endpoint] = match;
        if (!hostNamePattern.test(name)) {
            throw new Error(`\`${key}\` entry ${show(entry)}: ${show(name)} is not a valid host name`);
        }
        if (!ipaddr.IPv4.isValidFourPartDecimal(address)) {
            throw new Error(`\`${key}\` entry ${show(entry)}: ${show(address)} is not an IPv4 address`);
        }
        if (["0.0.0.0", "127.0.0.1"].includes(address) || ipaddr.IPv4.parse(address).range() === "loopback") {
            throw new Error(
                `\`${key}\` entry ${show(entry)}: ${address} cannot be reached from other machines; give the host's own address`,
            );
        }
        if (!endpointPattern.test(endpoint)) {
            throw new Error(
                `\`${key}\` entry ${show(entry)}: endpoint ${show(endpoint)} is not unix:///path, ssh://user@host or tcp://host:port`,
            );
        }
        const twin = hosts.find((host) => host.name === name || host.address === address);
        if (twin) {
            const what = twin.name === name ? `name ${show(name)}` : `address ${address}`;
            throw new Error(`\`${key}\` entry ${show(entry)}: ${what} is already used by host ${twin.name}`);
        }
        hosts.push({ name, address, endpoint });
    }
    return hosts;
}

/**
 * Parses `dockerHostsTls` (secret): JSON of the client material each tcp:// host's engine asks for, by host name,
 * `{"dc1": {"ca": PEM, "cert": PEM, "key": PEM}}`. Errors never show the value.
 */
export function parseDockerHostsTls(
    key: string,
    text: string | undefined,
    hosts: readonly DockerHost[],
): Record<string, DockerHostTls> {
    let given: Record<string, unknown> = {};
    if (text !== undefined && text.trim() !== "") {
        try {
            given = JSON.parse(text) as Record<string, unknown>;
        } catch {
            throw new Error(`\`${key}\` is not JSON of the form {"host": {"ca": PEM, "cert": PEM, "key": PEM}} (value hidden)`);
        }
        if (typeof given !== "object" || given === null || Array.isArray(given)) {
            throw new Error(`\`${key}\` must be a JSON object keyed by host name (value hidden)`);
        }
    }
    for (const name of Object.keys(given)) {
        const host = hosts.find((candidate) => candidate.name === name);
        if (!host) {
            throw new Error(`\`${key}\` names host ${show(name)}, which is not in \`dockerHosts\``);
        }
        if (!host.endpoint.startsWith("tcp://")) {
            throw new Error(`\`${key}\` gives certificates for host ${name}, whose endpoint is not tcp://`);
        }
    }
    const material: Record<string, DockerHostTls> = {};
    for (const host of hosts.filter((candidate) => candidate.endpoint.startsWith("tcp://"))) {
        const files = given[host.name] as Record<string, unknown> | undefined;
        if (files === undefined) {
            throw new Error(
                `\`dockerHosts\` host ${host.name} is reached over tcp:// without TLS, which gives anyone on the network root on it; set its client certificates in \`${key}\``,
            );
        }
        const pem = (field: keyof DockerHostTls) => {
            const value = files[field];
            if (typeof value !== "string" || !value.includes("-----BEGIN ")) {
                throw new Error(`\`${key}\` host ${host.name}: ${show(field)} is not a PEM string (value hidden)`);
            }
            return value;
        };
        material[host.name] = { ca: pem("ca"), cert: pem("cert"), key: pem("key") };
    }
    return material;
}

/** Parses "name=host:port" entries of `redisNodes` or `sentinelNodes` when `dockerHosts` is set: each node at its host's address. */
export function parsePlacedNodeList(key: string, entries: readonly string[], hosts: readonly DockerHost[]): NodeAddress[] {
    return entries.map((entry) => {
        const match = /^([^=\s]+)=([^:\s]+):(\d+)$/.exec(entry);
        if (!match) {
            throw new Error(`\`${key}\` entry ${show(entry)} is not of the form "name=host:port" (a host of \`dockerHosts\`)`);
        }
        const [, name, hostName, portText] = match;
        const host = hosts.find((candidate) => candidate.name === hostName);
        if (!host) {
            throw new Error(
                `\`${key}\` entry ${show(entry)}: host ${show(hostName)} is not in \`dockerHosts\` (${hosts.map((h) => h.name).join(", ")})`,
            );
        }
        return { name, ip: host.address, port: Number(portText), host: host.name };
    });
}

/** The hosts the nodes are placed on, in the order of `dockerHosts`. */
export const usedHosts = (topology: Topology): DockerHost[] =>
    topology.hosts.filter((host) => [...topology.redisNodes, ...topology.sentinelNodes].some((node) => node.host === host.name));

/**
 * Checks a placement on several hosts: no two nodes of one host on the same port, and the loss of any one host
 * leaves a Redis node and enough Sentinels to authorise a failover (at least `quorum`, and a majority of all of them:
 * Sentinel's leader election needs both). A placement on one host is allowed: it protects against a failed process
 * or container, not against the loss of that machine (README, "Across several machines").
 */
export function validatePlacement(topology: Topology, extraPorts: (node: NodeAddress) => number[] = () => []): void {
    const nodes = [...topology.redisNodes, ...topology.sentinelNodes];
    const taken = new Map<string, string>();
    for (const node of nodes) {
        for (const port of [node.port, ...extraPorts(node)]) {
            const key = `${node.host}:${port}`;
            const owner = taken.get(key);
            if (owner) {
                throw new Error(
                    `placement: ${node.name} and ${owner} both use port ${port} on host ${node.host}; nodes that share a host need ports of their own`,
                );
            }
            taken.set(key, node.name);
        }
    }
    const hosts = usedHosts(topology);
    if (hosts.length < 2) {
        return;
    }
    const sentinels = topology.sentinelNodes.length;
    const majority = Math.floor(sentinels / 2) + 1;
    const needed = Math.max(topology.quorum, majority);
    for (const host of hosts) {
        const survivors = topology.sentinelNodes.filter((node) => node.host !== host.name);
        if (survivors.length < needed) {
            const why =
                survivors.length < topology.quorum
                    ? `fewer than \`quorum\` ${topology.quorum}`
                    : `not a majority of the ${sentinels}`;
            throw new Error(
                `placement: losing host ${host.name} leaves ${survivors.length} of ${sentinels} Sentinels, ${why}: no failover could be authorised. Spread the Sentinels so that no host holds more than ${sentinels - needed}`,
            );
        }
        if (topology.redisNodes.every((node) => node.host === host.name)) {
            throw new Error(`placement: losing host ${host.name} leaves no Redis node; put a replica on another host`);
        }
    }
}

/**
 * Parses `metricsExporters` entries when `dockerHosts` is set: "node=port", the port at which the exporter of that
 * node listens on the node's host (host networking). Returns each exporter's address and port by node name.
 */
export function parsePlacedExporterList(
    key: string,
    entries: readonly string[],
    nodes: readonly NodeAddress[],
): { exporters: Record<string, string>; ports: Record<string, number> } {
    const exporters: Record<string, string> = {};
    const ports: Record<string, number> = {};
    for (const entry of entries) {
        const match = /^([^=\s]+)=(\d+)$/.exec(entry);
        if (!match) {
            throw new Error(
                `\`${key}\` entry ${show(entry)} is not of the form "node=port" (with \`dockerHosts\`, each exporter runs on its node's host)`,
            );
        }
        const [, name, portText] = match;
        const node = nodes.find((candidate) => candidate.name === name);
        if (!node) {
            throw new Error(
                `\`${key}\` entry ${show(entry)} names no node; the nodes are ${nodes.map((n) => n.name).join(", ")}`,
            );
        }
        if (name in ports) {
            throw new Error(`\`${key}\` names node ${show(name)} twice`);
        }
        const port = Number(portText);
        if (port < 1 || port > 65535) {
            throw new Error(`\`${key}\` entry ${show(entry)}: port ${port} is out of range 1-65535`);
        }
        exporters[name] = node.ip;
        ports[name] = port;
    }
    const missing = nodes.filter((node) => !(node.name in ports)).map((node) => node.name);
    if (missing.length > 0) {
        throw new Error(`\`${key}\` has no port for ${missing.join(", ")}; with metricsEnabled every node needs one`);
    }
    return { exporters, ports };
}
