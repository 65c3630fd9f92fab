import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface RedisNetworkArgs {
    /** Docker network name; other containers join it by this name. */
    readonly networkName: string;
    /** IPv4 subnet in CIDR notation. */
    readonly subnet: string;
    /** Gateway address inside the subnet. */
    readonly gateway: string;
}

/** The attachable bridge network with a fixed IPAM subnet, so that every node keeps its static address. */
export class RedisNetwork extends pulumi.ComponentResource {
    /** The network's name, for `networksAdvanced` of the nodes and of other containers. */
    public readonly networkName: pulumi.Output<string>;

    constructor(name: string, args: RedisNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:index:RedisNetwork", name, {}, opts);
        const network = new docker.Network(
            name,
            {
                name: args.networkName,
                driver: "bridge",
                // Other containers (a client, a debugging shell) may join with a static address of their own.
                attachable: true,
                ipamConfigs: [{ subnet: args.subnet, gateway: args.gateway }],
            },
            // A fixed name cannot exist twice, so a replacement must remove the old network first.
            { parent: this, deleteBeforeReplace: true },
        );
        this.networkName = network.name;
        this.registerOutputs({ networkName: this.networkName });
    }
}
