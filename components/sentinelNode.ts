import * as pulumi from "@pulumi/pulumi";
import { createNodeContainer, NodeContainerArgs } from "./nodeContainer";

export type SentinelNodeArgs = NodeContainerArgs;

/** One Sentinel: its container, the volume where it saves its state, and its uploaded sentinel.conf. */
export class SentinelNode extends pulumi.ComponentResource {
    /** The container's name, also the Sentinel's name. */
    public readonly containerName: pulumi.Output<string>;

    constructor(name: string, args: SentinelNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:index:SentinelNode", name, {}, opts);
        const { container } = createNodeContainer(this, "sentinel", args);
        this.containerName = container.name;
        this.registerOutputs({ containerName: this.containerName });
    }
}
