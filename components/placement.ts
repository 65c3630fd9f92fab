import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { usedHosts } from "../settings/hosts";
import { DockerHostTls, NodeAddress, Settings } from "../settings/types";
import { buildExporterImage, buildImage } from "./image";
import { RedisNetwork } from "./network";

/** Where a node's resources go: the engine (provider), the image built there, and the network it joins. */
export interface NodePlacement {
    readonly image: pulumi.Input<string>;
    /** The bridge of a single-host stack; undefined on several hosts, where each node uses its host's network. */
    readonly networkName?: pulumi.Input<string>;
    /** The engine of the node's host; undefined for the default provider of a single-host stack. */
    readonly provider?: docker.Provider;
}

export interface Placement {
    /** The network's name as the stack outputs it: the bridge's, or "host" on several hosts. */
    readonly networkName: pulumi.Output<string>;
    forNode(node: NodeAddress): NodePlacement;
    /** Where the exporter of `node` goes (metricsEnabled): the same engine and network, with the exporter image. */
    forExporter(node: NodeAddress): NodePlacement;
}

/**
 * A single-host stack: one image and the attachable bridge with its fixed subnet, on the default provider, exactly
 * as before `dockerHosts` existed (test/unit/singleHost.test.ts holds it to that).
 */
function singleHost(parent: pulumi.Resource, settings: Settings): Placement {
    const { topology } = settings;
    const image = buildImage(parent, settings.image);
    // The logical name is fixed, not the setting: changing `networkName` is then a replacement of one resource
    // (delete before replace, and the engine deletes the attached containers first and recreates them, volumes
    // kept), not a second network created beside the first, which Docker refuses ("Pool overlaps"). The alias
    // keeps stacks created when the logical name was the setting.
    const network = new RedisNetwork(
        "network",
        { networkName: topology.networkName, subnet: topology.subnet, gateway: topology.gateway },
        { parent, aliases: [{ name: topology.networkName }] },
    );
    const exporterImage = settings.metrics.enabled ? buildExporterImage(parent, settings.metrics) : undefined;
    return {
        networkName: network.networkName,
        forNode: () => ({ image, networkName: network.networkName }),
        forExporter: () => ({ image: exporterImage!.repoDigest, networkName: network.networkName }),
    };
}

/**
 * Several hosts: one explicit Docker provider per host that holds a node (`docker-<host>`, the Pulumi way to drive
 * several engines), and the image built on each of them. A node's volume and container go to its host's provider.
 * There is no bridge: each node runs in its host's network, listening and announcing at the host's address, which
 * every other host and client reaches and which a replaced container keeps.
 */
function multiHost(parent: pulumi.Resource, settings: Settings, tls: Readonly<Record<string, DockerHostTls>>): Placement {
    const byHost = new Map<string, NodePlacement>();
    const exportersByHost = new Map<string, NodePlacement>();
    for (const host of usedHosts(settings.topology)) {
        const material = tls[host.name];
        const provider = new docker.Provider(
            `docker-${host.name}`,
            {
                host: host.endpoint,
                ...(material && {
                    caMaterial: pulumi.secret(material.ca),
                    certMaterial: pulumi.secret(material.cert),
                    keyMaterial: pulumi.secret(material.key),
                }),
            },
            { parent },
        );
        const image = buildImage(parent, settings.image, { name: host.name, provider });
        byHost.set(host.name, { image, provider });
        if (settings.metrics.enabled) {
            const exporterImage = buildExporterImage(parent, settings.metrics, { name: host.name, provider });
            exportersByHost.set(host.name, { image: exporterImage.repoDigest, provider });
        }
    }
    const lookup = (placements: Map<string, NodePlacement>, node: NodeAddress) => {
        const placed = node.host === undefined ? undefined : placements.get(node.host);
        if (!placed) {
            throw new Error(`${node.name} is placed on no host of \`dockerHosts\``);
        }
        return placed;
    };
    return {
        networkName: pulumi.output("host"),
        forNode: (node) => lookup(byHost, node),
        forExporter: (node) => lookup(exportersByHost, node),
    };
}

/** The resources every node stands on, for the stack's hosts (settings.topology.hosts; none: one local engine). */
export function placeCluster(
    parent: pulumi.Resource,
    settings: Settings,
    dockerHostsTls: Readonly<Record<string, DockerHostTls>> = {},
): Placement {
    return settings.topology.hosts.length === 0 ? singleHost(parent, settings) : multiHost(parent, settings, dockerHostsTls);
}
