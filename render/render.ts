import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import Handlebars from "handlebars";
import { AclProfile, Principal, redisAclProfiles, sentinelAclProfilesFor } from "../acl";
import { NodeAddress, Settings } from "../settings/types";
import { redisLineOf } from "../settings/validate";
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

/** One ACL line; passwords are stored as SHA-256 hashes (`#...`), so the ACL files hold no plain text. */
export function aclLine(user: string, profile: AclProfile, passwords: Passwords): string {
    const login = profile.principal === undefined ? [] : ["on", `#${sha256(passwords[profile.principal])}`];
    return ["user", user, ...login, ...profile.rules].join(" ");
}

function aclLines(profiles: Readonly<Record<string, AclProfile>>, passwords: Passwords): string[] {
    return Object.entries(profiles).map(([user, profile]) => aclLine(user, profile, passwords));
}

function nodeEnv(settings: Settings, kind: "redis" | "sentinel", node: NodeAddress, passwords: Passwords, health: Principal) {
    const { topology } = settings;
    return templates.nodeEnv({
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
export function renderRedisNode(settings: Settings, node: NodeAddress, passwords: Passwords): RenderedFile[] {
    const { topology } = settings;
    const master = topology.redisNodes[0];
    const redisConf = templates.redisConf({
        ...node,
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
                users: aclLines(redisAclProfiles(settings.appUser, settings.image.modules), passwords),
            }),
        },
        { path: containerPaths.nodeEnv, content: nodeEnv(settings, "redis", node, passwords, "replication") },
    ];
}

/** The files of one Sentinel: sentinel.conf (with its ACL users) and the entrypoint's settings. */
export function renderSentinelNode(settings: Settings, node: NodeAddress, passwords: Passwords): RenderedFile[] {
    const { topology } = settings;
    const sentinelConf = templates.sentinelConf({
        ...node,
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
        users: aclLines(sentinelAclProfilesFor(redisLineOf(settings.image)), passwords),
    });
    return [
        { path: containerPaths.sentinelConf, content: sentinelConf },
        { path: containerPaths.nodeEnv, content: nodeEnv(settings, "sentinel", node, passwords, "clientsentinel") },
    ];
}

/** The files of the exporter that watches `node` (a Redis node or a Sentinel): its settings, with the metrics user's password. */
export function renderExporter(
    settings: Settings,
    kind: "redis" | "sentinel",
    node: NodeAddress,
    passwords: Passwords,
): RenderedFile[] {
    const content = templates.exporterEnv({
        ...node,
        kind,
        user: "metrics",
        password: passwords.metrics,
        metricsPort: settings.metrics.port,
    });
    return [{ path: containerPaths.exporterEnv, content }];
}

/** The exporter container of a node, by convention "<node>-exporter". */
export const exporterName = (node: string) => `${node}-exporter`;

/** Every container's files, keyed by container name: what the program uploads and `npm run render` writes. */
export function renderCluster(settings: Settings, passwords: Passwords): Record<string, RenderedFile[]> {
    const { redisNodes, sentinelNodes } = settings.topology;
    const exporters = (kind: "redis" | "sentinel", nodes: readonly NodeAddress[]) =>
        settings.metrics.enabled
            ? nodes.map((node) => [exporterName(node.name), renderExporter(settings, kind, node, passwords)] as const)
            : [];
    return Object.fromEntries([
        ...redisNodes.map((node) => [node.name, renderRedisNode(settings, node, passwords)] as const),
        ...sentinelNodes.map((node) => [node.name, renderSentinelNode(settings, node, passwords)] as const),
        ...exporters("redis", redisNodes),
        ...exporters("sentinel", sentinelNodes),
    ]);
}
