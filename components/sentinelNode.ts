import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { createNodeContainer, NodeContainerArgs } from "./nodeContainer";

export type SentinelNodeArgs = NodeContainerArgs;

/** One Sentinel: its container, the volume where it saves its state, and its uploaded sentinel.conf. */
export class SentinelNode extends pulumi.ComponentResource {
    /** The container's name, also the Sentinel's name. */
    public readonly containerName: pulumi.Output<string>;
    /** The node's container: the next node declared waits for it (NodeContainerArgs.after). */
    public readonly container: docker.Container;

    constructor(name: string, args: SentinelNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:index:SentinelNode", name, {}, opts);
        this.container = createNodeContainer(this, "sentinel", args).container;
        this.containerName = this.container.name;
        this.registerOutputs({ containerName: this.containerName });
    }
}
