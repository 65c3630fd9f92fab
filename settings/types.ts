/** A container's name and its static address on the network (with `dockerHosts`: its host's address). */
export interface NodeAddress {
    readonly name: string;
    readonly ip: string;
    readonly port: number;
    /** The `dockerHosts` host it runs on; absent on a single-host stack, so that nothing about such a stack changes. */
    readonly host?: string;
}

/** A Docker engine the nodes may be placed on (`dockerHosts`). */
export interface DockerHost {
    readonly name: string;
    /** Where peers and clients on other machines reach the host: each of its nodes listens and announces here. */
    readonly address: string;
    /** The Docker provider's `host`: unix:///..., ssh://user@host or tcp://host:port. */
    readonly endpoint: string;
}

/** The client certificates with which the Docker provider reaches a tcp:// engine (`dockerHostsTls`), secret. */
export interface DockerHostTls {
    readonly ca: string;
    readonly cert: string;
    readonly key: string;
}

/** The whole cluster's shape: every address and port in the program is derived from this one object. */
export interface Topology {
    /**
     * The Docker hosts the nodes are placed on; empty for a single-host stack, whose nodes share the bridge network
     * below with static addresses. With hosts, every node runs in its host's network namespace (host networking).
     */
    readonly hosts: readonly DockerHost[];
    readonly networkName: string;
    readonly subnet: string;
    readonly gateway: string;
    readonly masterName: string;
    /** The first node is the initial master; the others start as its replicas. */
    readonly redisNodes: readonly NodeAddress[];
    readonly sentinelNodes: readonly NodeAddress[];
    readonly quorum: number;
    readonly downAfterMilliseconds: number;
    readonly failoverTimeout: number;
    readonly parallelSyncs: number;
    readonly minReplicasToWrite: number;
    readonly minReplicasMaxLag: number;
}

/**
 * Where the server comes from: Redis Open Source (packages.redis.io, modules bundled), redis-stack-server, or the base
 * image's Debian packages of Redis or of Valkey.
 */
export type RedisSource = "redis" | "redis-stack" | "debian" | "valkey";

/** How the one image that every container runs is built. */
export interface ImageSettings {
    readonly imageName: string;
    /** A pushed image each host pulls instead of building (`prebuiltImage`); undefined builds the image. */
    readonly prebuilt?: string;
    readonly baseImage: string;
    readonly redisSource: RedisSource;
    /** The Redis Open Source release (8.10.2) when `redisSource` is "redis". */
    readonly redisVersion: string;
    readonly redisStackVersion: string;
    /** Module paths inside the image, loaded by every Redis node. */
    readonly modules: readonly string[];
}

/** The application user that client programs log in as. */
export interface AppUser {
    readonly name: string;
    readonly rules: string;
}

/** The Prometheus exporters: one container per Redis node and per Sentinel, each at its own address. */
export interface MetricsSettings {
    readonly enabled: boolean;
    readonly port: number;
    readonly imageName: string;
    readonly baseImage: string;
    /**
     * The exporter's address, by the name of the node it watches; empty when metrics are off. With `dockerHosts`,
     * the node's host address: the exporter runs in its host's network.
     */
    readonly exporters: Readonly<Record<string, string>>;
    /** With `dockerHosts`: each exporter's own port on its host (`metricsExporters` "node=port"); undefined otherwise. */
    readonly ports?: Readonly<Record<string, number>>;
}

export type TlsAuthClients = "no" | "optional" | "yes";

/** TLS on every link, with certificates the program makes (or signs with the stack's own CA). */
export interface TlsSettings {
    readonly enabled: boolean;
    readonly authClients: TlsAuthClients;
    /** 0: plain-text ports closed; above 0, plain text also on each node's port plus this. */
    readonly plainTextPortOffset: number;
    readonly clientCertificate: boolean;
    /** The stack's own CA (PEM), or undefined for one the program makes. Its key is read with the passwords. */
    readonly caCertificate?: string;
    /** The stack's own second CA (PEM, `tlsNextCaCertificate`), or undefined for one the program makes. */
    readonly nextCaCertificate?: string;
    /** The CA's rotation step (`tlsCaRotation`): which two CAs are trusted and which one issues (rotationGenerations). */
    readonly caRotation: number;
    readonly validityHours: number;
    readonly earlyRenewalHours: number;
}

export interface Settings {
    readonly topology: Topology;
    readonly image: ImageSettings;
    readonly appUser: AppUser;
    readonly metrics: MetricsSettings;
    readonly tls: TlsSettings;
}
