import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { createNodeContainer, NodeContainerArgs } from "./nodeContainer";

export type RedisNodeArgs = NodeContainerArgs;

/** One Redis server: its container, its AOF volume and its uploaded redis.conf and ACL file. */
export class RedisNode extends pulumi.ComponentResource {
    /** The container's name, also the node's name. */
    public readonly containerName: pulumi.Output<string>;
    /** The node's container: the next node declared waits for it (NodeContainerArgs.after). */
    public readonly container: docker.Container;

    constructor(name: string, args: RedisNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:index:RedisNode", name, {}, opts);
        this.container = createNodeContainer(this, "redis", args).container;
        this.containerName = this.container.name;
        this.registerOutputs({ containerName: this.containerName });
    }
}
