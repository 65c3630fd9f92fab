import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";
import { DeclaredResource } from "../support/pulumiProgram";
import { tarOf } from "./tarEntries";

/**
 * An offline base image: a minimal Debian release with its Redis (and on trixie Valkey) packages and the Prometheus
 * exporter, made with debootstrap (no registry needed). The tag changes with the package list, so that a machine
 * with an older one makes it anew.
 */
export interface TestBase {
    readonly tag: string;
    readonly release: "bookworm" | "trixie";
    readonly packages: readonly string[];
}

export const testBases = {
    /** Redis 7.0. */
    bookworm: {
        tag: "redis-sentinel-docker-base:bookworm-2",
        release: "bookworm",
        packages: ["redis-server", "redis-sentinel", "redis-tools", "prometheus-redis-exporter"],
    },
    /** Redis 8.0 and Valkey 8.1, side by side (the image's redisSource picks one). */
    trixie: {
        tag: "redis-sentinel-docker-base:trixie-1",
        release: "trixie",
        packages: [
            "redis-server",
            "redis-sentinel",
            "redis-tools",
            "valkey-server",
            "valkey-sentinel",
            "valkey-tools",
            "prometheus-redis-exporter",
        ],
    },
} as const satisfies Record<string, TestBase>;

/** The default e2e base. */
export const baseImageTag = testBases.bookworm.tag;
const debianMirror = "http://deb.debian.org/debian";
const debootstrapTimeoutMs = 5 * 60_000;
const projectRoot = path.join(__dirname, "..", "..");

const log = (message: string) => console.log(`e2e image: ${message}`);

async function imageExists(docker: Docker, tag: string): Promise<boolean> {
    try {
        await docker.getImage(tag).inspect();
        return true;
    } catch {
        return false;
    }
}

/** Runs a command to completion within `timeoutMs`; its output is kept and shown only if it fails. */
function run(command: string, args: string[], timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
        let output = "";
        child.stdout.on("data", (chunk) => (output += chunk));
        child.stderr.on("data", (chunk) => (output += chunk));
        child.on("error", reject);
        child.on("close", (code, signal) =>
            code === 0
                ? resolve()
                : reject(new Error(`${command} failed (${signal ?? `exit ${code}`}):\n${output.slice(-3000)}`)),
        );
    });
}

/** Resolves when a progress stream of the engine (build, import) ends; rejects on the first error it reports. */
function followProgress(
    docker: Docker,
    stream: NodeJS.ReadableStream,
    onLine: (text: string) => void = () => undefined,
): Promise<void> {
    return new Promise((resolve, reject) => {
        let failure: string | undefined;
        docker.modem.followProgress(
            stream,
            (error) => (error ? reject(error) : failure ? reject(new Error(failure)) : resolve()),
            (event: { stream?: string; status?: string; error?: string }) => {
                if (event.error) {
                    failure = event.error;
                }
                const text = event.stream ?? event.status;
                if (text) {
                    onLine(text);
                }
            },
        );
    });
}

/** Builds `tag` from a context; the build's output is kept and shown only if it fails. */
async function buildTagged(
    docker: Docker,
    tag: string,
    context: Parameters<Docker["buildImage"]>[0],
    options: Omit<Docker.ImageBuildOptions, "t"> = {},
): Promise<void> {
    const stream = await docker.buildImage(context, { ...options, t: tag, rm: true, forcerm: true });
    const output: string[] = [];
    await followProgress(docker, stream, (text) => output.push(text)).catch((error: Error) => {
        throw new Error(`building ${tag} failed: ${error.message}\n${output.join("").slice(-3000)}`);
    });
}

/** The test base an image tag names, if it is one of testBases. */
export const testBaseOf = (tag: string): TestBase | undefined => Object.values(testBases).find((base) => base.tag === tag);

/**
 * Makes a base image unless its tag exists: debootstrap a minimal release with its packages, then import the tree.
 * Needs root and debootstrap; takes a minute or two, once per machine and release.
 */
export async function ensureBaseImage(docker: Docker, base: TestBase = testBases.bookworm): Promise<void> {
    const { tag } = base;
    if (await imageExists(docker, tag)) {
        log(`base image ${tag} exists, reusing it`);
        return;
    }
    if (process.getuid?.() !== 0) {
        throw new Error(
            `base image ${tag} is missing and debootstrap needs root; run the tests as root or import the image first`,
        );
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "redis-base-"));
    try {
        log(`base image ${tag} is missing; debootstrapping ${base.release} into ${root}`);
        await run(
            "debootstrap",
            ["--variant=minbase", `--include=${base.packages.join(",")}`, base.release, root, debianMirror],
            debootstrapTimeoutMs,
        ).catch((error: Error) => {
            throw new Error(
                `could not debootstrap the base image (is debootstrap installed? apt-get install debootstrap): ${error.message}`,
            );
        });
        const tar = spawn("tar", ["-C", root, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
        const [repo, imageTag] = tag.split(":");
        const progress = await docker.importImage(tar.stdout, { repo, tag: imageTag });
        await followProgress(docker, progress);
        log(`imported ${tag}`);
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

/**
 * Builds the program's image from the declared docker.Image's own inputs (context, Dockerfile, build args, name),
 * so the test runs what `pulumi up` would build. Returns the image id.
 */
export async function buildDeclaredImage(docker: Docker, image: DeclaredResource): Promise<string> {
    const { imageName, build } = image.inputs as {
        imageName: string;
        build: { context: string; dockerfile: string; args: Record<string, string> };
    };
    const context = path.resolve(projectRoot, build.context);
    const dockerfile = path.relative(context, path.resolve(projectRoot, build.dockerfile));
    log(
        `building ${imageName} from ${build.context} with ${Object.entries(build.args)
            .map(([key, value]) => `${key}=${value}`)
            .join(" ")}`,
    );
    const started = Date.now();
    await buildTagged(docker, imageName, { context, src: fs.readdirSync(context) }, { dockerfile, buildargs: build.args });
    const { Id } = await docker.getImage(imageName).inspect();
    log(`built ${imageName} (${Id.slice(0, 19)}) in ${Date.now() - started} ms`);
    return Id;
}

/** A stand-in for the public node image that the container example names: the base image plus this Node.js binary. */
export const nodeImageTag = "redis-sentinel-docker-node:e2e";

/**
 * Makes `nodeImageTag` from the base image and the Node.js that runs the tests (no registry is reachable here, so
 * `node:20-bookworm-slim` cannot be pulled). The base image is Debian bookworm, which has the C++ runtime Node needs.
 */
export async function ensureNodeImage(docker: Docker): Promise<string> {
    await ensureBaseImage(docker);
    const dockerfile = `FROM ${baseImageTag}\nCOPY node /usr/local/bin/node\n`;
    const context = tarOf([
        { path: "Dockerfile", content: Buffer.from(dockerfile), mode: 0o644 },
        { path: "node", content: fs.readFileSync(process.execPath), mode: 0o755 },
    ]);
    await buildTagged(docker, nodeImageTag, context);
    log(`built ${nodeImageTag} with Node.js ${process.version}`);
    return nodeImageTag;
}
