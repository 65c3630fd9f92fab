/**
 * Every difference between a node of the local test cluster and a container of the program, in one place.
 *
 * The rendered files (for `redisSource: debian`, which is what runs here: no modules) are used as they are, except:
 *   Paths: a container's `/etc/redis` (uploads) and `/data` (its volume) become directories under the node's
 *   own temporary directory, because host processes share one file system.
 * And of the image's entrypoint only the first step is reproduced (`prepareRuntimeFiles`): copy the uploaded files to
 * the writable runtime directory, mode 0600, owned by the user that runs the server. Its second step (ask the
 * Sentinels for the current master) gives the rendered role at a first start, so it is not needed here; nor are the
 * known-replica lines it adds for a Sentinel, since the harness starts its Sentinels after replication is up.
 * The servers run as the `redis` user when the tests run as root, as the entrypoint does with setpriv.
 *
 * An exporter (metrics) gets its rendered exporter.env as its environment, as the exporter image's entrypoint gives
 * it, except that it listens on its own loopback address and a free port rather than on every address at
 * `metricsPort`, because host processes share one network namespace.
 */
import * as fs from "fs";
import * as path from "path";
import { containerPaths, RenderedFile } from "../../render";

/** A node's directories on the host, standing in for the container's upload directory and volume. */
export interface HostNodeDirs {
    /** Stands in for /etc/redis (uploaded, read-only in spirit). */
    readonly uploadDir: string;
    /** Stands in for /data (the node's volume). */
    readonly dataDir: string;
}

export function hostNodeDirs(nodeDir: string): HostNodeDirs {
    return { uploadDir: path.join(nodeDir, "etc-redis"), dataDir: path.join(nodeDir, "data") };
}

const uploadRoot = path.posix.dirname(containerPaths.redisConf);

/** Maps a path inside the container to the host: /etc/redis/* and /data/* only; anything else is a new adaptation. */
export function hostPath(containerPath: string, dirs: HostNodeDirs): string {
    const under = (root: string) => containerPath === root || containerPath.startsWith(`${root}/`);
    if (under(containerPaths.dataDir)) {
        return path.join(dirs.dataDir, path.posix.relative(containerPaths.dataDir, containerPath));
    }
    if (under(uploadRoot)) {
        return path.join(dirs.uploadDir, path.posix.relative(uploadRoot, containerPath));
    }
    throw new Error(`hostAdaptation: no host location for container path ${containerPath}`);
}

/** Directives whose argument is a path inside the container. */
const pathDirectives = new Set(["dir", "aclfile", "include", "tls-cert-file", "tls-key-file", "tls-ca-cert-file"]);

/** Rewrites one rendered config file for the host: the container paths of path directives. */
export function adaptConfig(content: string, dirs: HostNodeDirs): string {
    return content
        .split("\n")
        .map((line) => {
            const match = /^(\s*)(\S+)\s+(\/\S*)\s*$/.exec(line);
            return match && pathDirectives.has(match[2]) ? `${match[1]}${match[2]} ${hostPath(match[3], dirs)}` : line;
        })
        .join("\n");
}

/** The unprivileged account the image runs its servers as; used only when the tests run as root. */
export interface RunAs {
    readonly uid: number;
    readonly gid: number;
}

/** The `redis` account when running as root (so that permission problems show as they would in the container). */
export function serverAccount(): RunAs | undefined {
    if (process.getuid?.() !== 0) {
        return undefined;
    }
    const entry = fs
        .readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .map((line) => line.split(":"))
        .find((fields) => fields[0] === "redis");
    return entry ? { uid: Number(entry[2]), gid: Number(entry[3]) } : undefined;
}

/**
 * Writes a node's rendered files where its container would have them, then does what the entrypoint does before
 * exec: copies them to the runtime directory on the volume, 0600, owned by the server's account.
 * Returns the host path of the config file the server starts with.
 */
export function prepareRuntimeFiles(files: readonly RenderedFile[], dirs: HostNodeDirs, runAs: RunAs | undefined): string {
    const runtimeDir = path.dirname(hostPath(containerPaths.runtimeRedisConf, dirs));
    fs.mkdirSync(dirs.uploadDir, { recursive: true });
    fs.mkdirSync(runtimeDir, { recursive: true });
    const copies: Record<string, string> = {
        [containerPaths.redisConf]: containerPaths.runtimeRedisConf,
        [containerPaths.aclFile]: containerPaths.runtimeAclFile,
        [containerPaths.sentinelConf]: containerPaths.runtimeSentinelConf,
        [containerPaths.tlsCa]: containerPaths.runtimeTlsCa,
        [containerPaths.tlsCert]: containerPaths.runtimeTlsCert,
        [containerPaths.tlsKey]: containerPaths.runtimeTlsKey,
    };
    let serverConf: string | undefined;
    for (const file of files) {
        const content = adaptConfig(file.content, dirs);
        fs.mkdirSync(path.dirname(hostPath(file.path, dirs)), { recursive: true });
        fs.writeFileSync(hostPath(file.path, dirs), content, { mode: 0o600 });
        const runtime = copies[file.path];
        if (runtime !== undefined) {
            const target = hostPath(runtime, dirs);
            fs.writeFileSync(target, content, { mode: 0o600 });
            if (file.path === containerPaths.redisConf || file.path === containerPaths.sentinelConf) {
                serverConf = target;
            }
        }
    }
    if (serverConf === undefined) {
        throw new Error("hostAdaptation: the node has neither redis.conf nor sentinel.conf");
    }
    if (runAs) {
        for (const dir of [path.dirname(dirs.dataDir), dirs.dataDir, runtimeDir]) {
            fs.chownSync(dir, runAs.uid, runAs.gid);
        }
        for (const file of fs.readdirSync(runtimeDir)) {
            fs.chownSync(path.join(runtimeDir, file), runAs.uid, runAs.gid);
        }
    }
    return serverConf;
}

/** The exporter's program, from Debian's prometheus-redis-exporter package (as in exporter-image/Dockerfile). */
export const exporterCommand = "prometheus-redis-exporter";

/**
 * The environment the exporter image's entrypoint gives the exporter: the rendered exporter.env, but listening at
 * `listen`, and with its other files (TLS material) written under `dir`, where the settings then point.
 */
export function exporterEnvironment(files: readonly RenderedFile[] | undefined, listen: string, dir: string): NodeJS.ProcessEnv {
    const file = files?.find((candidate) => candidate.path === containerPaths.exporterEnv);
    if (!files || !file) {
        throw new Error("hostAdaptation: no exporter.env was rendered (is metricsEnabled set?)");
    }
    const moved = new Map<string, string>();
    for (const other of files.filter((candidate) => candidate !== file)) {
        const target = path.join(dir, path.posix.basename(other.path));
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(target, other.content, { mode: 0o644 });
        moved.set(other.path, target);
    }
    const settings = Object.fromEntries(
        file.content
            .split("\n")
            .filter((line) => /^[A-Z_]+=/.test(line))
            .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)])
            .map(([key, value]) => [key, moved.get(value) ?? value]),
    );
    return { PATH: process.env.PATH, ...settings, REDIS_EXPORTER_WEB_LISTEN_ADDRESS: listen };
}
