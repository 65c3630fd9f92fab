import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import Handlebars from "handlebars";
import { AclProfile, Principal, redisAclProfiles, sentinelAclProfilesFor } from "../acl";
import { NodeAddress, Settings } from "../settings/types";
import { engineOf } from "../settings/engine";
import { sentinelMyid } from "./identity";
import { containerPaths } from "./paths";

/** One file to upload into a container. */
export interface RenderedFile {
    /** Absolute path inside the container. */
    readonly path: string;
    readonly content: string;
}

/** A password for every principal, in plain text: only ever inside an `apply` or the render command. */
export type Passwords = Readonly<Record<Principal, string>>;

/**
 * The passwords each principal's user accepts, plain text like Passwords: the two of its rotation step
 * (render/passwords.ts, rotationGenerations). Where a principal is missing, its user accepts its login password only.
 */
export type AcceptedPasswords = Readonly<Partial<Record<Principal, readonly string[]>>>;

/** A certificate and its key, PEM, in plain text like the passwords. */
export interface KeyPair {
    readonly cert: string;
    readonly key: string;
}

/** A node's TLS material (tlsEnabled): the CA certificate, and its own certificate and key. */
export interface NodeTls extends KeyPair {
    readonly ca: string;
}

/** An exporter's TLS material: the CA, and a client certificate when the nodes ask clients for one. */
export interface ExporterTls {
    readonly ca: string;
    readonly client?: KeyPair;
}

/** The whole cluster's TLS material, for renderCluster: the CA, each node's pair by name, the exporters' pair. */
export interface ClusterPem {
    readonly ca: string;
    readonly nodes: Readonly<Record<string, KeyPair>>;
    readonly metrics?: KeyPair;
}

const templateDir = path.join(__dirname, "..", "conf-templates");

function loadTemplate(file: string): Handlebars.TemplateDelegate {
    // noEscape: these are config files, not HTML; strict: a missing field is a bug, not an empty line.
    return Handlebars.compile(fs.readFileSync(path.join(templateDir, file), "utf8"), { noEscape: true, strict: true });
}

const templates = {
    redisConf: loadTemplate("redis.conf.hbs"),
    usersAcl: loadTemplate("users.acl.hbs"),
    sentinelConf: loadTemplate("sentinel.conf.hbs"),
    nodeEnv: loadTemplate("node.env.hbs"),
    exporterEnv: loadTemplate("exporter.env.hbs"),
};

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * One ACL line; passwords are stored as SHA-256 hashes (`#...`), so the ACL files hold no plain text. A user accepts
 * every password `accepted` gives its principal (an ACL user may hold several), else its login password.
 */
export function aclLine(user: string, profile: AclProfile, passwords: Passwords, accepted: AcceptedPasswords = {}): string {
    const { principal } = profile;
    const hashes =
        principal === undefined
            ? []
            : [...new Set(accepted[principal] ?? [passwords[principal]])].map((password) => `#${sha256(password)}`);
    return ["user", user, ...(hashes.length > 0 ? ["on", ...hashes] : []), ...profile.rules].join(" ");
}

function aclLines(profiles: Readonly<Record<string, AclProfile>>, passwords: Passwords, accepted: AcceptedPasswords): string[] {
    return Object.entries(profiles).map(([user, profile]) => aclLine(user, profile, passwords, accepted));
}

/** The TLS lines of a node's config (undefined with TLS off): the runtime copies the entrypoint makes, 0600. */
function serverTls(settings: Settings, node: NodeAddress, tls: NodeTls | undefined) {
    if (!settings.tls.enabled) {
        return undefined;
    }
    if (tls === undefined) {
        throw new Error(`tlsEnabled: no certificate was given for ${node.name}`);
    }
    return {
        plainPort: settings.tls.plainTextPortOffset > 0 ? node.port + settings.tls.plainTextPortOffset : 0,
        certFile: containerPaths.runtimeTlsCert,
        keyFile: containerPaths.runtimeTlsKey,
        caFile: containerPaths.runtimeTlsCa,
        authClients: settings.tls.authClients,
    };
}

/** The uploaded TLS files of a node (none with TLS off). */
const tlsFiles = (settings: Settings, tls: NodeTls | undefined): RenderedFile[] =>
    settings.tls.enabled && tls
        ? [
              { path: containerPaths.tlsCa, content: tls.ca },
              { path: containerPaths.tlsCert, content: tls.cert },
              { path: containerPaths.tlsKey, content: tls.key },
          ]
        : [];

function nodeEnv(settings: Settings, kind: "redis" | "sentinel", node: NodeAddress, passwords: Passwords, health: Principal) {
    const { topology } = settings;
    return templates.nodeEnv({
        tls: settings.tls.enabled
            ? { caFile: containerPaths.tlsCa, certFile: containerPaths.tlsCert, keyFile: containerPaths.tlsKey }
            : undefined,
        kind,
        ...node,
        masterName: topology.masterName,
        sentinels: topology.sentinelNodes.map((sentinel) => `${sentinel.ip}:${sentinel.port}`).join(","),
        redisNodes: topology.redisNodes.map((redis) => `${redis.ip}:${redis.port}`).join(","),
        sentinelUser: "clientsentinel",
        sentinelPassword: passwords.clientsentinel,
        // Only a Redis node may ask for a failover, and only when it came back empty (image/entrypoint.sh).
        failoverUser: kind === "redis" ? "failover" : "",
        failoverPassword: kind === "redis" ? passwords.failover : "",
        healthUser: health,
        healthPassword: passwords[health],
    });
}

/** The files of one Redis node: redis.conf, its ACL file and the entrypoint's settings. */
export function renderRedisNode(
    settings: Settings,
    node: NodeAddress,
    passwords: Passwords,
    tls?: NodeTls,
    accepted: AcceptedPasswords = {},
): RenderedFile[] {
    const { topology } = settings;
    const master = topology.redisNodes[0];
    const redisConf = templates.redisConf({
        ...node,
        tls: serverTls(settings, node, tls),
        masterName: topology.masterName,
        runtimeConf: containerPaths.runtimeRedisConf,
        dataDir: containerPaths.dataDir,
        aclFile: containerPaths.runtimeAclFile,
        replicationUser: "replication",
        replicationPassword: passwords.replication,
        minReplicasToWrite: topology.minReplicasToWrite,
        minReplicasMaxLag: topology.minReplicasMaxLag,
        modules: settings.image.modules,
        replicaOf: node.name === master.name ? undefined : master,
    });
    return [
        { path: containerPaths.redisConf, content: redisConf },
        {
            path: containerPaths.aclFile,
            content: templates.usersAcl({
                users: aclLines(redisAclProfiles(settings.appUser, settings.image.modules), passwords, accepted),
            }),
        },
        { path: containerPaths.nodeEnv, content: nodeEnv(settings, "redis", node, passwords, "replication") },
        ...tlsFiles(settings, tls),
    ];
}

/** The files of one Sentinel: sentinel.conf (with its ACL users) and the entrypoint's settings. */
export function renderSentinelNode(
    settings: Settings,
    node: NodeAddress,
    passwords: Passwords,
    tls?: NodeTls,
    accepted: AcceptedPasswords = {},
): RenderedFile[] {
    const { topology } = settings;
    const sentinelConf = templates.sentinelConf({
        ...node,
        tls: serverTls(settings, node, tls),
        masterName: topology.masterName,
        runtimeConf: containerPaths.runtimeSentinelConf,
        dataDir: containerPaths.dataDir,
        myid: sentinelMyid(topology.masterName, node),
        master: topology.redisNodes[0],
        quorum: topology.quorum,
        sentinelRedisUser: "sentinelredis",
        sentinelRedisPassword: passwords.sentinelredis,
        downAfterMilliseconds: topology.downAfterMilliseconds,
        failoverTimeout: topology.failoverTimeout,
        parallelSyncs: topology.parallelSyncs,
        sentinelSentinelUser: "sentinelsentinel",
        sentinelSentinelPassword: passwords.sentinelsentinel,
        peers: topology.sentinelNodes
            .filter((peer) => peer.name !== node.name)
            .map((peer) => ({ ip: peer.ip, port: peer.port, myid: sentinelMyid(topology.masterName, peer) })),
        users: aclLines(sentinelAclProfilesFor(engineOf(settings.image).line), passwords, accepted),
    });
    return [
        { path: containerPaths.sentinelConf, content: sentinelConf },
        { path: containerPaths.nodeEnv, content: nodeEnv(settings, "sentinel", node, passwords, "clientsentinel") },
        ...tlsFiles(settings, tls),
    ];
}

/** The files of the exporter that watches `node` (a Redis node or a Sentinel): its settings, with the metrics user's password. */
export function renderExporter(
    settings: Settings,
    kind: "redis" | "sentinel",
    node: NodeAddress,
    passwords: Passwords,
    tls?: ExporterTls,
): RenderedFile[] {
    if (settings.tls.enabled && tls === undefined) {
        throw new Error(`tlsEnabled: no CA was given for the exporter of ${node.name}`);
    }
    const client = settings.tls.enabled ? tls?.client : undefined;
    const content = templates.exporterEnv({
        ...node,
        kind,
        user: "metrics",
        password: passwords.metrics,
        // On several hosts each exporter has a port of its own on its node's host.
        metricsPort: settings.metrics.ports?.[node.name] ?? settings.metrics.port,
        tls: settings.tls.enabled
            ? {
                  caFile: containerPaths.exporterTlsCa,
                  certFile: client ? containerPaths.exporterTlsCert : "",
                  keyFile: client ? containerPaths.exporterTlsKey : "",
              }
            : undefined,
    });
    const files: RenderedFile[] = [{ path: containerPaths.exporterEnv, content }];
    if (settings.tls.enabled && tls) {
        files.push({ path: containerPaths.exporterTlsCa, content: tls.ca });
        if (client) {
            files.push(
                { path: containerPaths.exporterTlsCert, content: client.cert },
                { path: containerPaths.exporterTlsKey, content: client.key },
            );
        }
    }
    return files;
}

/** Whether the exporters need a client certificate: only when the nodes check the certificates of their clients. */
export const exportersNeedCertificate = (settings: Settings) => settings.tls.enabled && settings.tls.authClients !== "no";

/** The exporter container of a node, by convention "<node>-exporter". */
export const exporterName = (node: string) => `${node}-exporter`;

/** Every container's files, keyed by container name: what the program uploads and `npm run render` writes. */
export function renderCluster(settings: Settings, passwords: Passwords, pem?: ClusterPem): Record<string, RenderedFile[]> {
    const { redisNodes, sentinelNodes } = settings.topology;
    const nodeTls = (node: NodeAddress): NodeTls | undefined => pem && { ca: pem.ca, ...pem.nodes[node.name] };
    const exporterTls: ExporterTls | undefined = pem && { ca: pem.ca, client: pem.metrics };
    const exporters = (kind: "redis" | "sentinel", nodes: readonly NodeAddress[]) =>
        settings.metrics.enabled
            ? nodes.map(
                  (node) => [exporterName(node.name), renderExporter(settings, kind, node, passwords, exporterTls)] as const,
              )
            : [];
    return Object.fromEntries([
        ...redisNodes.map((node) => [node.name, renderRedisNode(settings, node, passwords, nodeTls(node))] as const),
        ...sentinelNodes.map((node) => [node.name, renderSentinelNode(settings, node, passwords, nodeTls(node))] as const),
        ...exporters("redis", redisNodes),
        ...exporters("sentinel", sentinelNodes),
    ]);
}
