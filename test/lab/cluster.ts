/**
 * A cluster across the lab's hosts: the program run under mocks with `dockerHosts` naming the lab's engines, its
 * image built once on the local engine and loaded into each host, and every declared resource deployed on its host's
 * engine by the deployer, as `pulumi up` with one provider per host would.
 */
import Docker from "dockerode";
import { ClusterOutputs, e2eStackConfig } from "../docker/cluster";
import { Deployer, removeLabelled } from "../docker/deployer";
import { connectEngine } from "../docker/engine";
import { buildDeclaredImage, ensureBaseImage } from "../docker/images";
import { ClusterProbe } from "../docker/probe";
import { mockImageId, ProgramRun, runProgram } from "../support/pulumiProgram";
import { Lab } from "./lab";

/** Stack config that places `placement` (node name to host name) on the lab's hosts, the Redis nodes on 6379. */
export function labStackConfig(lab: Lab, placement: Readonly<Record<string, string>>): Record<string, string> {
    const nodes = (prefix: string, port: number) =>
        JSON.stringify(
            Object.entries(placement)
                .filter(([node]) => node.startsWith(prefix))
                .map(([node, host]) => `${node}=${host}:${port}`),
        );
    return {
        ...e2eStackConfig,
        dockerHosts: JSON.stringify(lab.hosts.map((host) => `${host.name}=${host.address} ${host.endpoint}`)),
        redisNodes: nodes("redis", 6379),
        sentinelNodes: nodes("sentinel", 26379),
    };
}

/** One node on each of three hosts, a Redis node and a Sentinel on each. */
export const threeHostPlacement = {
    redis1: "dc1",
    redis2: "dc2",
    redis3: "dc3",
    sentinel1: "dc1",
    sentinel2: "dc2",
    sentinel3: "dc3",
};

export interface LabCluster {
    readonly lab: Lab;
    /** The local engine: where the image is built and the probe runs. */
    readonly docker: Docker;
    readonly deployer: Deployer;
    readonly program: ProgramRun;
    readonly outputs: ClusterOutputs;
    readonly probe: ClusterProbe;
    readonly imageId: string;
    /** From the program run to every container healthy. */
    readonly upMs: number;
    /** Runs the program again with `config` on top of the cluster's (an update's new program). */
    rerun(config: Readonly<Record<string, string>>, load: () => Record<string, unknown>): Promise<ProgramRun>;
    stop(): Promise<void>;
}

/** Starts the lab with `hosts` and deploys the program across it with `placement`. */
export async function startLabCluster(
    load: () => Record<string, unknown>,
    hosts: readonly string[],
    placement: Readonly<Record<string, string>> = threeHostPlacement,
    config: Readonly<Record<string, string>> = {},
): Promise<LabCluster> {
    const docker = connectEngine();
    await docker.ping();
    await removeLabelled(docker);
    const lab = await Lab.start(hosts);
    try {
        const stackConfig = { ...labStackConfig(lab, placement), ...config };
        const started = Date.now();
        const program = await runProgram(stackConfig, load);
        await ensureBaseImage(docker);
        // Every host builds the same images from the same inputs (the Redis image, and the exporter's with metrics
        // on): build each once here, and load it into each engine.
        const images = new Map<string, string>();
        for (const image of program.byType("docker:index/image:Image")) {
            const reference = mockImageId(image.inputs.imageName);
            if (!images.has(reference)) {
                const built = await buildDeclaredImage(docker, image);
                await lab.loadImage(docker, built);
                images.set(reference, built);
            }
        }
        const imageId = images.get(mockImageId(stackConfig.imageName))!;
        const engines = new Map(lab.hosts.map((host) => [`docker-${host.name}`, host.docker]));
        const deployer = new Deployer(docker, images, engines);
        await deployer.deploy(program.resources);
        const outputs = program.outputs as unknown as ClusterOutputs;
        const probe = await ClusterProbe.start(docker, imageId, outputs, "", "e2e-lab-probe");
        return {
            lab,
            docker,
            deployer,
            program,
            outputs,
            probe,
            imageId,
            upMs: Date.now() - started,
            rerun: (more, loadAgain) => runProgram({ ...stackConfig, ...more }, loadAgain, [], {}, program),
            stop: async () => {
                await removeLabelled(docker);
                await lab.stop();
            },
        };
    } catch (error) {
        await lab.stop();
        throw error;
    }
}
