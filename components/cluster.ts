import * as pulumi from "@pulumi/pulumi";
import { Principal, principals } from "../acl";
import { exporterName, NodeTls, RenderedFile, renderExporter, renderRedisNode, renderSentinelNode } from "../render";
import { DockerHostTls, NodeAddress, Settings } from "../settings/types";
import { RotationStatus, rotationStatus } from "../render/passwords";
import { clusterPasswords } from "./credentials";
import { MetricsExporter } from "./metricsExporter";
import { placeCluster } from "./placement";
import { RedisNode } from "./redisNode";
import { SentinelNode } from "./sentinelNode";
import { clusterTls, ClusterTlsOutputs } from "./tls";

export interface RedisSentinelClusterArgs {
    /** Validated settings (see settings/load.ts). */
    readonly settings: Settings;
    /** Passwords the stack sets itself (`<principal>Password`); the others are generated. */
    readonly passwords?: Partial<Record<Principal, pulumi.Input<string>>>;
    /** Second accepted passwords the stack sets itself (`<principal>NextPassword`); the others are generated. */
    readonly nextPasswords?: Partial<Record<Principal, pulumi.Input<string>>>;
    /** Each principal's rotation step (`<principal>PasswordRotation`); 0 when absent. */
    readonly passwordRotation?: Partial<Record<Principal, number>>;
    /** The private key of the stack's own CA (settings.tls.caCertificate), secret. */
    readonly tlsCaPrivateKey?: pulumi.Input<string>;
    /** The private key of the stack's own second CA (settings.tls.nextCaCertificate), secret. */
    readonly tlsNextCaPrivateKey?: pulumi.Input<string>;
    /** The client certificates of the tcp:// Docker hosts (settings.topology.hosts), by host name; made secret here. */
    readonly dockerHostsTls?: Readonly<Record<string, DockerHostTls>>;
}

/** A Redis node as a client sees it: where it is and the role it starts with. */
export interface RedisNodeOutput extends NodeAddress {
    readonly role: "master" | "replica";
}

/** Where Prometheus scrapes the exporter of one node (metricsEnabled). */
export interface MetricsTarget {
    /** The node the exporter watches. */
    readonly node: string;
    readonly kind: "redis" | "sentinel";
    /** "ip:port" of the exporter's /metrics. */
    readonly target: string;
}

/** A Docker host as the stack outputs describe it: where its nodes listen, and its engine's endpoint. */
export interface DescribedHost {
    readonly name: string;
    readonly address: string;
    /** The Docker endpoint (`unix://`, `ssh://`, `tcp://`): `npm run drill -- --host NAME` drives the host through it. */
    readonly docker: string;
}

/** The image, the network, every Redis node and every Sentinel, wired together. */
export class RedisSentinelCluster extends pulumi.ComponentResource {
    public readonly masterName: string;
    public readonly networkName: pulumi.Output<string>;
    public readonly redisNodes: RedisNodeOutput[];
    public readonly sentinelNodes: NodeAddress[];
    /** Every principal's password, the one logins use, secret. */
    public readonly passwords: pulumi.Output<Record<Principal, string>>;
    /** Where each principal's rotation stands. */
    public readonly passwordRotation: Record<Principal, RotationStatus>;
    public readonly appUser: string;
    /** The exporters' scrape targets; empty when metrics are off. */
    public readonly metricsTargets: MetricsTarget[] = [];
    /** TLS material for clients; undefined when TLS is off. */
    public readonly tls?: ClusterTlsOutputs;
    /** The Docker hosts (`dockerHosts`) and the endpoint of each, for the tools; undefined on a single host. */
    public readonly hosts?: DescribedHost[];

    constructor(name: string, args: RedisSentinelClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:index:RedisSentinelCluster", name, {}, opts);
        const { settings } = args;
        const { topology } = settings;

        const steps = args.passwordRotation ?? {};
        const passwords = clusterPasswords(this, { current: args.passwords, next: args.nextPasswords }, steps);
        this.passwords = pulumi.secret(pulumi.all(passwords.login) as pulumi.Output<Record<Principal, string>>);
        const accepted = pulumi.secret(pulumi.all(passwords.accepted) as pulumi.Output<Record<Principal, string[]>>);
        this.passwordRotation = Object.fromEntries(
            principals.map((principal) => [principal, rotationStatus(steps[principal] ?? 0)]),
        ) as Record<Principal, RotationStatus>;
        const placement = placeCluster(this, settings, args.dockerHostsTls);
        const tls = clusterTls(this, settings, [args.tlsCaPrivateKey, args.tlsNextCaPrivateKey]);
        this.tls = tls.outputs;

        // Files are rendered inside an apply, where the passwords and keys are plain text, and stay secret.
        type Render = (
            plain: Record<Principal, string>,
            tls: NodeTls | undefined,
            accepted: Record<Principal, string[]>,
        ) => RenderedFile[];
        const nodeArgs = (node: NodeAddress, render: Render) => ({
            ...placement.forNode(node),
            files: pulumi.secret(
                pulumi.all([this.passwords, tls.forNode(node), accepted]).apply(([plain, pem, both]) => render(plain, pem, both)),
            ),
        });

        // With metrics on, every node gets an exporter of its own, a child of the node that takes nothing from it.
        const watch = (parent: RedisNode | SentinelNode, kind: "redis" | "sentinel", node: NodeAddress) => {
            if (!settings.metrics.enabled) {
                return;
            }
            const exporter = new MetricsExporter(
                exporterName(node.name),
                {
                    name: exporterName(node.name),
                    ip: settings.metrics.exporters[node.name],
                    port: settings.metrics.ports?.[node.name] ?? settings.metrics.port,
                    ...placement.forExporter(node),
                    files: pulumi.secret(
                        pulumi
                            .all([this.passwords, tls.forExporters])
                            .apply(([plain, pem]) => renderExporter(settings, kind, node, plain, pem)),
                    ),
                },
                { parent },
            );
            this.metricsTargets.push({ node: node.name, kind, target: exporter.target });
        };

        // One chain over every node: each container waits for the one declared before it, Redis nodes first. An
        // update that replaces every node replaces one container at a time, each healthy (a replica: synced) before
        // the next goes, so a master that hands over always has every Sentinel. `pulumi destroy` goes the other way:
        // the Sentinels first, so that the Redis nodes then stop without a handover nobody needs.
        let previous: RedisNode | SentinelNode | undefined;
        for (const node of topology.redisNodes) {
            previous = new RedisNode(
                node.name,
                {
                    node,
                    after: previous,
                    ...nodeArgs(node, (plain, tls, both) => renderRedisNode(settings, node, plain, tls, both)),
                },
                { parent: this },
            );
            watch(previous, "redis", node);
        }
        for (const node of topology.sentinelNodes) {
            previous = new SentinelNode(
                node.name,
                {
                    node,
                    after: previous,
                    ...nodeArgs(node, (plain, tls, both) => renderSentinelNode(settings, node, plain, tls, both)),
                },
                { parent: this },
            );
            watch(previous, "sentinel", node);
        }

        this.masterName = topology.masterName;
        this.networkName = placement.networkName;
        this.redisNodes = topology.redisNodes.map((node, index) => ({ ...node, role: index === 0 ? "master" : "replica" }));
        this.sentinelNodes = [...topology.sentinelNodes];
        this.appUser = settings.appUser.name;
        if (topology.hosts.length > 0) {
            this.hosts = topology.hosts.map((host) => ({ name: host.name, address: host.address, docker: host.endpoint }));
        }
        this.registerOutputs({
            ...(this.hosts && { hosts: this.hosts }),
            masterName: this.masterName,
            networkName: this.networkName,
            redisNodes: this.redisNodes,
            sentinelNodes: this.sentinelNodes,
            passwords: this.passwords,
            passwordRotation: this.passwordRotation,
            appUser: this.appUser,
            metricsTargets: this.metricsTargets,
            tls: this.tls,
        });
    }
}
