import * as fs from "fs";
import * as path from "path";
import Docker from "dockerode";
import { Principal } from "../../acl";
import { mockImageId, ProgramRun, runProgram } from "../support/pulumiProgram";
import { connectEngine } from "./engine";
import { Deployer, removeLabelled } from "./deployer";
import { baseImageTag, buildDeclaredImage, ensureBaseImage, testBaseOf, testBases } from "./images";

/**
 * Stack config of the end-to-end cluster: the seed's topology on the offline Debian base, without modules; the
 * exporters (when a test turns metricsEnabled on) on the same base, which has their package.
 */
export const e2eStackConfig: Readonly<Record<string, string>> = {
    baseImage: baseImageTag,
    redisSource: "debian",
    modules: "[]",
    imageName: "redis-sentinel-docker:e2e-debian",
    metricsBaseImage: baseImageTag,
    metricsImageName: "redis-sentinel-docker:e2e-exporter",
};

/**
 * The engines the e2e cluster runs on, each as stack config over e2eStackConfig: Debian's Redis 7.0 (bookworm, the
 * default), Debian's Redis 8.0 and Valkey 8.1 (trixie). The exporters stay on the bookworm base.
 */
export const testEngines = {
    redis7: {},
    redis8: { baseImage: testBases.trixie.tag, redisSource: "debian", imageName: "redis-sentinel-docker:e2e-redis8" },
    valkey: { baseImage: testBases.trixie.tag, redisSource: "valkey", imageName: "redis-sentinel-docker:e2e-valkey" },
} as const satisfies Record<string, Readonly<Record<string, string>>>;
export type TestEngine = keyof typeof testEngines;

/** The stack config of the e2e cluster on `engine`, or an error naming the engines there are. */
export function engineConfig(engine: string): Readonly<Record<string, string>> {
    if (!(engine in testEngines)) {
        throw new Error(
            `no test engine ${JSON.stringify(engine)}; the tested engines are ${Object.keys(testEngines).join(", ")}`,
        );
    }
    return testEngines[engine as TestEngine];
}

/** Makes every offline base image that `config` names (the image's and the exporters'). */
export async function ensureBaseImages(docker: Docker, config: Readonly<Record<string, string>>): Promise<void> {
    for (const tag of new Set([config.baseImage, config.metricsBaseImage])) {
        const base = testBaseOf(tag);
        if (base) {
            await ensureBaseImage(docker, base);
        }
    }
}

/** The stack outputs a client needs, in the shape `pulumi stack output --json --show-secrets` prints them. */
export interface ClusterOutputs {
    readonly masterName: string;
    readonly network: string;
    readonly redisNodes: { name: string; ip: string; port: number; role: "master" | "replica" }[];
    readonly sentinelNodes: { name: string; ip: string; port: number }[];
    readonly appUser: string;
    readonly passwords: Record<Principal, string>;
    readonly metricsTargets: { node: string; kind: "redis" | "sentinel"; target: string }[];
    /** With tlsEnabled: the CA, and the client certificate and key when tlsClientCertificate is set. */
    readonly tlsCaCertificate?: string;
    readonly tlsClientCertificate?: string;
    readonly tlsClientKey?: string;
}

export interface RunningCluster {
    readonly docker: Docker;
    readonly deployer: Deployer;
    readonly program: ProgramRun;
    readonly outputs: ClusterOutputs;
    /** The image every node runs; the tests' own helper containers run it too. */
    readonly imageId: string;
    /** Wall-clock time from the program run to every container healthy. */
    readonly upMs: number;
}

/**
 * Runs the program under mocks, makes sure the base image exists, builds every image the program declares and deploys
 * every declared resource. `load` loads index.ts afresh (under jest: inside jest.isolateModules); `config` is stack
 * config on top of e2eStackConfig. Anything left by an earlier run goes first.
 */
export async function startCluster(
    load: () => Record<string, unknown>,
    config: Readonly<Record<string, string>> = {},
): Promise<RunningCluster> {
    const started = Date.now();
    const docker = connectEngine();
    await docker.ping();
    const program = await runProgram({ ...e2eStackConfig, ...config }, load);
    await removeLabelled(docker);
    await ensureBaseImages(docker, { ...e2eStackConfig, ...config });
    const images = new Map<string, string>();
    for (const image of program.byType("docker:index/image:Image")) {
        images.set(mockImageId(image.inputs.imageName), await buildDeclaredImage(docker, image));
    }
    const imageId = images.get(mockImageId(program.one("docker:index/image:Image", "redis-image").inputs.imageName))!;
    const deployer = new Deployer(docker, images);
    await deployer.deploy(program.resources);
    return {
        docker,
        deployer,
        program,
        outputs: program.outputs as unknown as ClusterOutputs,
        imageId,
        upMs: Date.now() - started,
    };
}

/** A period the image's entrypoint gives every Sentinel (`readonly NAME=...` in image/entrypoint.sh), in ms. */
function entrypointPeriodMs(name: "SENTINEL_PING_PERIOD_MS" | "SENTINEL_INFO_PERIOD_MS" | "SENTINEL_PUBLISH_PERIOD_MS"): number {
    const entrypoint = fs.readFileSync(path.join(__dirname, "..", "..", "image", "entrypoint.sh"), "utf8");
    const match = new RegExp(`^readonly ${name}=(\\d+)$`, "m").exec(entrypoint);
    if (!match) {
        throw new Error(`image/entrypoint.sh no longer sets ${name}`);
    }
    return Number(match[1]);
}

/** The ping period the image's entrypoint gives every Sentinel (SENTINEL_PING_PERIOD_MS). */
export const sentinelPingPeriodMs = () => entrypointPeriodMs("SENTINEL_PING_PERIOD_MS");

/** The INFO period the image's entrypoint gives every Sentinel (SENTINEL_INFO_PERIOD_MS). */
export const sentinelInfoPeriodMs = () => entrypointPeriodMs("SENTINEL_INFO_PERIOD_MS");

/** The hello period the image's entrypoint gives every Sentinel (SENTINEL_PUBLISH_PERIOD_MS). */
export const sentinelPublishPeriodMs = () => entrypointPeriodMs("SENTINEL_PUBLISH_PERIOD_MS");
