import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { RenderedFile } from "../render";
import { goDuration } from "./goDuration";
import { containerPaths } from "../render/paths";
import { NodeAddress } from "../settings/types";

/** What RedisNode and SentinelNode have in common: one container on the network, with its own volume and files. */
export interface NodeContainerArgs {
    /** Container name and static address. */
    readonly node: NodeAddress;
    /** Image reference (the local image id, so that a rebuild replaces the container). */
    readonly image: pulumi.Input<string>;
    /** Network to join with the node's static address; undefined on several hosts, where the node uses its host's network. */
    readonly networkName?: pulumi.Input<string>;
    /** The Docker engine of the node's host (`dockerHosts`); undefined for the default provider of a single-host stack. */
    readonly provider?: docker.Provider;
    /** Files to upload; secret, since they carry passwords. */
    readonly files: pulumi.Output<RenderedFile[]>;
    /**
     * The node declared before this one. Its container is a dependency (dependsOn) of this one, so the engine
     * touches this container only once that one is created, replaced or found unchanged, and healthy: `pulumi up`
     * replaces nodes one at a time (README, "What `pulumi up` does to a running cluster").
     */
    readonly after?: { readonly container: docker.Container };
}

/** How Docker probes a node: the image's health check, which PINGs with the credentials from node.env. */
// Every timing in Go's own form (goDuration), the one the provider reads back: "60s" would come back as "1m0s".
export const nodeHealthcheck = {
    tests: ["CMD", "/usr/local/bin/redis-node-healthcheck"],
    interval: goDuration(2000),
    timeout: goDuration(2000),
    retries: 5,
    // Loading a large AOF can take a while; failures then do not count.
    startPeriod: goDuration(60_000),
};

/**
 * How long a node may take to stop before Docker kills it: a master's handover (up to 11 s waiting for the Sentinels'
 * view, then up to 8 s handing over: image/entrypoint.sh) plus Redis's own shutdown-timeout (10 s), with margin.
 */
export const nodeStopSeconds = 45;

/** How the engine treats a node's container. */
export const nodeContainerOptions = {
    // The name and address are fixed, so the old container must go before its replacement starts.
    deleteBeforeReplace: true,
    // healthcheck: an edit is diffed as an in-place update that the provider's Update ignores (it applies only
    // restart, max_retry_count and resource limits: resource_docker_container_funcs.go, kreuzwerker#988), so
    // replace instead; its timings must therefore read back unchanged (goDuration), or every up replaces.
    // #initerror: a container whose create failed (it never became healthy within waitTimeout) is recorded with an
    // init error, and without this the next up is an empty update that the provider ignores; with it, the engine
    // replaces the container (pulumi/pulumi pkg/resource/deploy/step_generator.go, applyReplaceOnChanges).
    replaceOnChanges: ["healthcheck", "#initerror"],
};

/** The label with which a node's volume names its `dockerHosts` host. */
export const hostLabel = "redis-sentinel-docker.host";

/** How the engine treats a node's volume: nothing (an update, a rename, a destroy) deletes the data in it. */
export const nodeVolumeOptions = { retainOnDelete: true };

/** Creates the node's volume and container as children of `parent`; `command` picks the server the entrypoint runs. */
export function createNodeContainer(
    parent: pulumi.Resource,
    command: "redis" | "sentinel",
    args: NodeContainerArgs,
): { container: docker.Container; volume: docker.Volume } {
    const { node, provider } = args;
    const volume = new docker.Volume(
        `${node.name}-data`,
        // On several hosts the volume names its host. A label is ForceNew, so moving the node to another host
        // replaces the volume (a new, empty one there; the old one is retained), where a provider change alone would
        // not: the bridge replaces a resource on a provider change only for ForcesProviderReplace settings
        // (pulumi-terraform-bridge pkg/tfbridge/provider.go, DiffConfig), and pulumi-docker marks none.
        { name: `${node.name}-data`, ...(node.host !== undefined && { labels: [{ label: hostLabel, value: node.host }] }) },
        { parent, ...nodeVolumeOptions, ...(provider && { provider }) },
    );
    const container = new docker.Container(
        node.name,
        {
            name: node.name,
            image: args.image,
            command: [command],
            ...containerNetwork(args.networkName, node.ip),
            volumes: [{ volumeName: volume.name, containerPath: containerPaths.dataDir }],
            uploads: args.files.apply((files) => files.map((file) => ({ file: file.path, content: file.content }))),
            healthcheck: nodeHealthcheck,
            restart: "unless-stopped",
            // `pulumi up` returns only once the node answers its health check.
            wait: true,
            waitTimeout: 120,
            // A master hands its role over on SIGTERM, then Redis fsyncs the AOF (and may wait for lagging replicas);
            // give that time before SIGKILL, on `docker stop` and when Pulumi replaces or destroys the container
            // (without destroyGraceSeconds the provider force-removes it). image/entrypoint.sh keeps within it.
            stopTimeout: nodeStopSeconds,
            destroyGraceSeconds: nodeStopSeconds,
            // Docker's `local` driver rotates by itself (5 files of 20 MB, compressed), so no logOpts are set: the
            // provider reads logOpts back from the engine whenever the program sets some, and the engine may add
            // its daemon.json defaults to them, a difference on every refresh that would replace the container.
            logDriver: "local",
        },
        {
            parent,
            ...nodeContainerOptions,
            dependsOn: args.after ? [args.after.container] : [],
            ...(provider && { provider }),
        },
    );
    return { container, volume };
}

/**
 * How a container joins the network: on the cluster's bridge with its static address, or, on several hosts (no
 * bridge), in its host's network namespace, where it listens at the host's address (README, "Across several machines").
 */
export function containerNetwork(
    networkName: pulumi.Input<string> | undefined,
    ip: string,
): Pick<docker.ContainerArgs, "networksAdvanced" | "networkMode"> {
    return networkName === undefined ? { networkMode: "host" } : { networksAdvanced: [{ name: networkName, ipv4Address: ip }] };
}
