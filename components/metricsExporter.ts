import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { RenderedFile } from "../render";
import { goDuration } from "./goDuration";
import { containerNetwork, nodeContainerOptions } from "./nodeContainer";

export interface MetricsExporterArgs {
    /** The exporter's container name and its own static address on the network. */
    readonly name: string;
    readonly ip: string;
    /** Port of /metrics. */
    readonly port: number;
    readonly image: pulumi.Input<string>;
    /** The cluster's bridge; undefined on several hosts, where the exporter runs in its node's host's network. */
    readonly networkName?: pulumi.Input<string>;
    /** The engine of the node's host (`dockerHosts`); undefined for the default provider. */
    readonly provider?: docker.Provider;
    /** Its settings, with the metrics user's password: secret. */
    readonly files: pulumi.Output<RenderedFile[]>;
}

/** Docker's probe of an exporter: it answers /health on its port (exporter-image/exporter.sh). */
export const exporterHealthcheck = {
    tests: ["CMD", "/usr/local/bin/redis-exporter-node", "health"],
    interval: goDuration(5000),
    timeout: goDuration(3000),
    retries: 3,
    startPeriod: goDuration(10_000),
};

/**
 * One Prometheus exporter, in a container of its own on the network, watching one Redis node or Sentinel. It takes
 * no input from the node's resources, so replacing a node never replaces its exporter (and the other way round):
 * the exporter reconnects at the next scrape, and reports `redis_up 0` while its node is away.
 */
export class MetricsExporter extends pulumi.ComponentResource {
    /** The scrape target, "ip:port". */
    public readonly target: string;
    public readonly container: docker.Container;

    constructor(name: string, args: MetricsExporterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("redis-sentinel:index:MetricsExporter", name, {}, opts);
        this.container = new docker.Container(
            args.name,
            {
                name: args.name,
                image: args.image,
                // The image's own CMD, declared so that the state holds what the engine reads back.
                command: ["run"],
                ...containerNetwork(args.networkName, args.ip),
                uploads: args.files.apply((files) => files.map((file) => ({ file: file.path, content: file.content }))),
                healthcheck: exporterHealthcheck,
                restart: "unless-stopped",
                wait: true,
                waitTimeout: 60,
                logDriver: "local",
            },
            // Fixed name and address: the old container goes before its replacement starts.
            { parent: this, ...nodeContainerOptions, ...(args.provider && { provider: args.provider }) },
        );
        this.target = `${args.ip}:${args.port}`;
        this.registerOutputs({ target: this.target });
    }
}
