import { createPrivateKey, X509Certificate } from "crypto";
import * as ipaddr from "ipaddr.js";
import { ruleReachesSentinelChannels, sentinelChannelPrefix } from "../acl/channels";
import { engineOf } from "./engine";
import { AppUser, ImageSettings, MetricsSettings, NodeAddress, TlsAuthClients, TlsSettings, Topology } from "./types";

export const minPasswordLength = 16;
/** Characters that need no quoting in redis.conf, sentinel.conf, ACL rules or the entrypoint's env file. */
export const passwordPattern = /^[A-Za-z0-9._~+=^@%,:!*/-]+$/;

const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const show = (value: unknown) => JSON.stringify(value);

/** Parses "name=ip:port" entries of `redisNodes` or `sentinelNodes`. */
export function parseNodeList(key: string, entries: readonly string[]): NodeAddress[] {
    return entries.map((entry) => {
        const match = /^([^=\s]+)=([^:\s]+):(\d+)$/.exec(entry);
        if (!match) {
            throw new Error(`\`${key}\` entry ${show(entry)} is not of the form "name=ip:port"`);
        }
        const [, name, ip, portText] = match;
        if (!namePattern.test(name)) {
            throw new Error(`\`${key}\` entry ${show(entry)}: ${show(name)} is not a valid container name`);
        }
        if (!ipaddr.IPv4.isValidFourPartDecimal(ip)) {
            throw new Error(`\`${key}\` entry ${show(entry)}: ${show(ip)} is not an IPv4 address`);
        }
        const port = Number(portText);
        if (port < 1 || port > 65535) {
            throw new Error(`\`${key}\` entry ${show(entry)}: port ${port} is out of range 1-65535`);
        }
        return { name, ip, port };
    });
}

/** Checks that `ip` is a host address of `subnet` (a valid CIDR); the error names the setting and the value. */
function checkHostAddress(subnet: string, key: string, ip: string, what: string): void {
    if (!ipaddr.IPv4.isValidFourPartDecimal(ip)) {
        throw new Error(`\`${key}\` ${what} ${show(ip)} is not an IPv4 address`);
    }
    if (!ipaddr.IPv4.parse(ip).match(ipaddr.IPv4.parseCIDR(subnet))) {
        throw new Error(`\`${key}\` ${what} ${show(ip)} is outside the subnet ${subnet}`);
    }
    const ends = [ipaddr.IPv4.networkAddressFromCIDR(subnet), ipaddr.IPv4.broadcastAddressFromCIDR(subnet)];
    if (ends.some((end) => end.toString() === ip)) {
        throw new Error(`\`${key}\` ${what} ${show(ip)} is the network or broadcast address of ${subnet}`);
    }
}

function checkInteger(key: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
    if (!Number.isInteger(value) || value < min || value > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
        throw new Error(`\`${key}\` must be an integer ${range}, got ${show(value)}`);
    }
}

/** Checks the network, every address and every Sentinel setting; throws on the first problem. */
export function validateTopology(topology: Topology): void {
    const { subnet, gateway } = topology;
    if (!namePattern.test(topology.networkName)) {
        throw new Error(`\`networkName\` ${show(topology.networkName)} is not a valid Docker network name`);
    }
    if (!ipaddr.IPv4.isValidCIDR(subnet)) {
        throw new Error(`\`subnet\` ${show(subnet)} is not an IPv4 CIDR such as "192.168.55.0/24"`);
    }
    const range = ipaddr.IPv4.parseCIDR(subnet);
    const network = ipaddr.IPv4.networkAddressFromCIDR(subnet);
    if (network.toString() !== range[0].toString()) {
        throw new Error(`\`subnet\` ${show(subnet)} has host bits set; its network address is ${network}`);
    }
    if (range[1] > 30) {
        throw new Error(`\`subnet\` ${show(subnet)} is too small: it needs room for a gateway and every node`);
    }
    const usable = (key: string, ip: string, what: string) => checkHostAddress(subnet, key, ip, what);
    usable("gateway", gateway, "address");

    if (topology.redisNodes.length < 1) {
        throw new Error("`redisNodes` must list at least one node (the initial master)");
    }
    if (topology.sentinelNodes.length < 1) {
        throw new Error("`sentinelNodes` must list at least one Sentinel, got none");
    }
    const names = new Map<string, string>();
    const ips = new Map<string, string>();
    const nodes = [
        ...topology.redisNodes.map((node) => ({ key: "redisNodes", node })),
        ...topology.sentinelNodes.map((node) => ({ key: "sentinelNodes", node })),
    ];
    // On several hosts, nodes share their host's address and differ by port (settings/hosts.ts, validatePlacement).
    const onNetwork = topology.hosts.length === 0;
    for (const { key, node } of nodes) {
        if (!namePattern.test(node.name)) {
            throw new Error(`\`${key}\` entry ${node.name}: ${show(node.name)} is not a valid container name`);
        }
        if (onNetwork) {
            usable(key, node.ip, `entry ${node.name}: address`);
            if (node.ip === gateway) {
                throw new Error(`\`${key}\` entry ${node.name}: address ${show(node.ip)} is the gateway`);
            }
        }
        checkInteger(`${key}\` entry \`${node.name}: port`, node.port, 1, 65535);
        if (names.has(node.name)) {
            throw new Error(`\`${key}\` name ${show(node.name)} is used twice; container names must be unique`);
        }
        const owner = ips.get(node.ip);
        if (owner && onNetwork) {
            throw new Error(
                `\`${key}\` entry ${node.name}: address ${node.ip}:${node.port} is already used by ${owner}; each container needs its own IP`,
            );
        }
        names.set(node.name, key);
        ips.set(node.ip, node.name);
    }

    if (!/^[A-Za-z0-9._-]+$/.test(topology.masterName)) {
        throw new Error(`\`masterName\` ${show(topology.masterName)} may only contain letters, digits, ".", "_" and "-"`);
    }
    checkInteger("quorum", topology.quorum, 1, topology.sentinelNodes.length);
    checkInteger("downAfterMilliseconds", topology.downAfterMilliseconds, 500);
    checkInteger("failoverTimeout", topology.failoverTimeout, 1000);
    checkInteger("parallelSyncs", topology.parallelSyncs, 1);
    checkInteger("minReplicasToWrite", topology.minReplicasToWrite, 0, topology.redisNodes.length - 1);
    checkInteger("minReplicasMaxLag", topology.minReplicasMaxLag, 1);
    if (topology.minReplicasToWrite > 0 && topology.minReplicasMaxLag * 1000 >= topology.downAfterMilliseconds) {
        throw new Error(
            `\`minReplicasMaxLag\` ${topology.minReplicasMaxLag} s must be shorter than \`downAfterMilliseconds\` ${topology.downAfterMilliseconds}: an isolated master would accept writes until after the Sentinels fail it over, and the failover would discard them`,
        );
    }
}

/** Checks the name of an image the program builds, and the base image it builds from. */
function checkImageNames(nameKey: string, name: string, baseKey: string, base: string, example: string): void {
    if (!/^[a-z0-9]+([._/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/.test(name)) {
        throw new Error(`\`${nameKey}\` ${show(name)} is not a valid image reference such as "${example}"`);
    }
    if (base.trim() === "" || /\s/.test(base)) {
        throw new Error(`\`${baseKey}\` ${show(base)} is not an image reference`);
    }
}

/** Checks the image build settings and that every module is shipped by the chosen Redis source. */
export function validateImage(image: ImageSettings): void {
    checkImageNames("imageName", image.imageName, "baseImage", image.baseImage, "redis-ubuntu:8.10");
    const reference =
        /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$/;
    if (image.prebuilt !== undefined && !reference.test(image.prebuilt)) {
        throw new Error(
            `\`prebuiltImage\` ${show(image.prebuilt)} is not an image reference such as "registry.example.com/redis-sentinel:1.0" or "name@sha256:<digest>"`,
        );
    }
    if (!/^[A-Za-z0-9.~+-]+$/.test(image.redisStackVersion)) {
        throw new Error(`\`redisStackVersion\` ${show(image.redisStackVersion)} is not a package version`);
    }
    const known = engineOf(image).modules;
    const seen = new Set<string>();
    for (const module of image.modules) {
        if (!known.includes(module)) {
            const offer = known.length ? `one of ${known.join(", ")}` : "none (this source ships no modules)";
            throw new Error(`\`modules\` entry ${show(module)} is not a module that ${image.redisSource} ships; known: ${offer}`);
        }
        if (seen.has(module)) {
            throw new Error(`\`modules\` entry ${show(module)} is listed twice`);
        }
        seen.add(module);
    }
}

/** Parses "node=ip" entries of `metricsExporters` into the exporter's address by node name. */
export function parseExporterList(key: string, entries: readonly string[]): Record<string, string> {
    const exporters: Record<string, string> = {};
    for (const entry of entries) {
        const match = /^([^=\s]+)=([^=\s]+)$/.exec(entry);
        if (!match) {
            throw new Error(`\`${key}\` entry ${show(entry)} is not of the form "node=ip"`);
        }
        const [, node, ip] = match;
        if (node in exporters) {
            throw new Error(`\`${key}\` names node ${show(node)} twice`);
        }
        exporters[node] = ip;
    }
    return exporters;
}

/**
 * Checks the exporters' port and image, and, when metrics are on, that every node has exactly one exporter at a free
 * host address of the subnet.
 */
export function validateMetrics(metrics: MetricsSettings, topology: Topology): void {
    checkInteger("metricsPort", metrics.port, 1, 65535);
    checkImageNames("metricsImageName", metrics.imageName, "metricsBaseImage", metrics.baseImage, "redis-exporter:1.45.0");
    if (!metrics.enabled) {
        return;
    }
    if (metrics.ports !== undefined) {
        // On several hosts each exporter is at its node's host address; parsePlacedExporterList and
        // validatePlacement check the ports.
        return;
    }
    const key = "metricsExporters";
    const nodes = [...topology.redisNodes, ...topology.sentinelNodes];
    const owners = new Map<string, string>([[topology.gateway, "the gateway"]]);
    for (const node of nodes) {
        owners.set(node.ip, `node ${node.name}`);
    }
    for (const [name, ip] of Object.entries(metrics.exporters)) {
        if (!nodes.some((node) => node.name === name)) {
            throw new Error(
                `\`${key}\` entry ${show(`${name}=${ip}`)} names no node; the nodes are ${nodes.map((node) => node.name).join(", ")}`,
            );
        }
        checkHostAddress(topology.subnet, key, ip, `entry ${name}: address`);
        const owner = owners.get(ip);
        if (owner) {
            throw new Error(`\`${key}\` entry ${name}: address ${show(ip)} is already used by ${owner}`);
        }
        owners.set(ip, `the exporter of ${name}`);
    }
    const missing = nodes.filter((node) => !(node.name in metrics.exporters)).map((node) => node.name);
    if (missing.length > 0) {
        throw new Error(`\`${key}\` has no address for ${missing.join(", ")}; with metricsEnabled every node needs one`);
    }
}

export const tlsAuthClientsValues: readonly TlsAuthClients[] = ["no", "optional", "yes"];

/** Reads a PEM certificate; the error names the setting (a certificate is public, but the message stays short). */
function parseCertificate(key: string, pem: string): X509Certificate {
    try {
        return new X509Certificate(pem);
    } catch (error) {
        throw new Error(`\`${key}\` is not a PEM certificate: ${(error as Error).message}`);
    }
}

/** Checks the TLS settings when TLS is on: the client-certificate mode, the ports, the validity and the stack's own CA. */
export function validateTls(tls: TlsSettings, topology: Topology): void {
    if (!tlsAuthClientsValues.includes(tls.authClients)) {
        throw new Error(`\`tlsAuthClients\` must be one of ${tlsAuthClientsValues.join(", ")}, got ${show(tls.authClients)}`);
    }
    if (!tls.enabled) {
        return;
    }
    checkInteger("tlsValidityHours", tls.validityHours, 2);
    checkInteger("tlsEarlyRenewalHours", tls.earlyRenewalHours, 0, tls.validityHours - 1);
    checkInteger("tlsPlainTextPortOffset", tls.plainTextPortOffset, 0, 65534);
    if (tls.plainTextPortOffset > 0) {
        for (const node of [...topology.redisNodes, ...topology.sentinelNodes]) {
            if (node.port + tls.plainTextPortOffset > 65535) {
                throw new Error(
                    `\`tlsPlainTextPortOffset\` ${tls.plainTextPortOffset} puts the plain-text port of ${node.name} (${node.port}) beyond 65535`,
                );
            }
        }
    }
    for (const [key, certificate] of [
        ["tlsCaCertificate", tls.caCertificate],
        ["tlsNextCaCertificate", tls.nextCaCertificate],
    ] as const) {
        if (certificate === undefined) {
            continue;
        }
        const ca = parseCertificate(key, certificate);
        if (!ca.ca) {
            throw new Error(`\`${key}\` (subject ${show(ca.subject)}) is not a CA certificate (basicConstraints CA:TRUE)`);
        }
        if (Date.parse(ca.validTo) < Date.now() + tls.validityHours * 3600_000) {
            throw new Error(
                `\`${key}\` expires ${ca.validTo}, before certificates valid for \`tlsValidityHours\` ${tls.validityHours} would`,
            );
        }
    }
    if (tls.caCertificate !== undefined && tls.nextCaCertificate !== undefined) {
        const [first, second] = [tls.caCertificate, tls.nextCaCertificate].map((pem) =>
            parseCertificate("tlsCaCertificate", pem),
        );
        if (first.subject === second.subject) {
            throw new Error(
                `\`tlsCaCertificate\` and \`tlsNextCaCertificate\` have the same subject (${show(first.subject)}): a verifier that looks up the issuer by name could pick the wrong one; give each CA a subject of its own`,
            );
        }
    }
    if (tls.authClients === "yes" && !tls.clientCertificate && tls.caCertificate === undefined) {
        throw new Error(
            '`tlsAuthClients` "yes" makes every client present a certificate, but none can get one: set `tlsClientCertificate` true, or give your own CA in `tlsCaCertificate` to sign your clients\' certificates',
        );
    }
}

/** Checks the stack's own CA key against its certificate; the message never contains the key. */
export function validateTlsCaKey(
    certificate: string | undefined,
    key: string | undefined,
    certificateKey = "tlsCaCertificate",
    keyKey = "tlsCaPrivateKey",
): void {
    if ((certificate === undefined) !== (key === undefined)) {
        throw new Error(`\`${certificateKey}\` and \`${keyKey}\` go together: set both, or neither (value hidden)`);
    }
    if (certificate === undefined || key === undefined) {
        return;
    }
    let privateKey;
    try {
        privateKey = createPrivateKey(key);
    } catch {
        throw new Error(`\`${keyKey}\` is not a PEM private key (value hidden)`);
    }
    if (!new X509Certificate(certificate).checkPrivateKey(privateKey)) {
        throw new Error(`\`${keyKey}\` is not the key of \`${certificateKey}\` (value hidden)`);
    }
}

/** ACL rules that grant keys, channels or commands; anything else (passwords, on/off, reset) is not the app rule's business. */
const appRuleToken = /^([~%&+-].+|allkeys|allchannels|allcommands|nocommands|resetkeys|resetchannels)$/i;

/** Checks the application user's name and rules. */
export function validateAppUser(user: AppUser, reservedNames: readonly string[]): void {
    if (!/^[A-Za-z0-9._-]+$/.test(user.name)) {
        throw new Error(`\`appUser\` ${show(user.name)} may only contain letters, digits, ".", "_" and "-"`);
    }
    if (reservedNames.includes(user.name)) {
        throw new Error(`\`appUser\` ${show(user.name)} is already a built-in user (${reservedNames.join(", ")})`);
    }
    const tokens = user.rules.trim().split(/\s+/).filter(Boolean);
    if (tokens.length === 0) {
        throw new Error("`appUserRules` is empty; give at least one key pattern and one command rule");
    }
    const bad = tokens.find((token) => !appRuleToken.test(token));
    if (bad !== undefined) {
        throw new Error(
            `\`appUserRules\` token ${show(bad)} is not a key, channel or command rule (passwords and on/off are managed by the program)`,
        );
    }
    const sentinelChannel = tokens.find(ruleReachesSentinelChannels);
    if (sentinelChannel !== undefined) {
        throw new Error(
            `\`appUserRules\` token ${show(sentinelChannel)} grants the Sentinels' ${sentinelChannelPrefix}* channels, where a forged hello can switch failover off; name the application's channels instead, such as "&app:*"`,
        );
    }
}

/** Checks a rotation step (`<principal>PasswordRotation`): a whole number from 0, raised by one per rotation step. */
export function validateRotationStep(key: string, step: number): void {
    if (!Number.isSafeInteger(step) || step < 0) {
        throw new Error(`\`${key}\` must be a whole number from 0 up, raised by one per step, got ${step}`);
    }
}

/** Checks a password given in stack config; the message never contains the password. */
export function validatePassword(key: string, password: string): void {
    if (password.length < minPasswordLength) {
        throw new Error(
            `\`${key}\` is too short: ${password.length} characters, at least ${minPasswordLength} needed (value hidden)`,
        );
    }
    if (/\s/.test(password)) {
        throw new Error(`\`${key}\` contains whitespace, which would split the ACL rule and config line (value hidden)`);
    }
    if (!passwordPattern.test(password)) {
        throw new Error(
            `\`${key}\` contains a character that ACL or config syntax would interpret (quotes, backslash, <, >, #, $, ...); allowed: letters, digits and ._~+=^@%,:!*/- (value hidden)`,
        );
    }
}
