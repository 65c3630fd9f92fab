/**
 * Which server an image runs, from `redisSource` and `baseImage`: its name (Redis or Valkey), its version line, and
 * the modules it ships. Everything that differs between engines (the ACL rules a server accepts, the modules, the
 * binaries' names inside the image: image/install-redis.sh) follows from this.
 */
import { ImageSettings, RedisSource } from "./types";

export type EngineName = "redis" | "valkey";
/** The version lines the program knows the commands of (ACL rules, module admin commands). */
export type EngineLine = "7.0" | "7.2" | "7.4" | "8.0" | "8.1" | "8.2" | "8.4" | "8.6" | "8.8" | "8.10";

export interface Engine {
    readonly name: EngineName;
    readonly line: EngineLine;
    /** Module paths inside the image; a module outside the list cannot load. */
    readonly modules: readonly string[];
}

/** The Debian releases whose packages the program knows, and the engine version each ships. */
export const debianReleases = {
    bookworm: { redis: "7.0", valkey: undefined },
    trixie: { redis: "8.0", valkey: "8.1" },
} as const satisfies Record<string, Record<EngineName, EngineLine | undefined>>;
export type DebianRelease = keyof typeof debianReleases;

/** The redis-stack-server lines the program knows. */
export const supportedStackLines = ["7.2", "7.4"] as const;

/**
 * The Redis Open Source lines whose packages (packages.redis.io, built from redis/redis-debian) the program knows.
 * Redis makes only even minors generally available; the odd ones are pre-releases.
 */
export const supportedRedisLines = ["8.2", "8.4", "8.6", "8.8", "8.10"] as const;

/** redis-debian installs the bundled modules here on amd64 and arm64 (debian/redis-server.install). */
const redisModules = [
    "/usr/lib/redis/modules/redisearch.so",
    "/usr/lib/redis/modules/rejson.so",
    "/usr/lib/redis/modules/redisbloom.so",
    "/usr/lib/redis/modules/redistimeseries.so",
];

const stackModules = [
    "/opt/redis-stack/lib/redisearch.so",
    "/opt/redis-stack/lib/rejson.so",
    "/opt/redis-stack/lib/redisbloom.so",
    "/opt/redis-stack/lib/redistimeseries.so",
];

export const redisSources: readonly RedisSource[] = ["redis", "redis-stack", "debian", "valkey"];

const show = (value: unknown) => JSON.stringify(value);

/** The version line of a release: "8.10" of "8.10.2", "7.4" of "7.4.0-v8". */
const versionLine = (version: string) => version.split(".").slice(0, 2).join(".");

/**
 * The Debian release a base image names, in its repository or tag (`debian:trixie`, `debian:bookworm-slim`,
 * `registry/base:trixie-2`); undefined when it names none.
 */
export function debianReleaseOf(baseImage: string): DebianRelease | undefined {
    const named = (Object.keys(debianReleases) as DebianRelease[]).filter((release) =>
        new RegExp(`(^|[/:._-])${release}([/:._-]|$)`).test(baseImage),
    );
    return named.length === 1 ? named[0] : undefined;
}

/**
 * The engine an image runs, or an error naming the settings when the combination cannot work: Debian's packages
 * come from the base image's release (so the base must name one that ships the engine), redis-stack's from its own
 * version.
 */
export function engineOf(image: Pick<ImageSettings, "redisSource" | "redisVersion" | "redisStackVersion" | "baseImage">): Engine {
    switch (image.redisSource) {
        case "redis": {
            const line = versionLine(image.redisVersion);
            if (!/^\d+\.\d+\.\d+$/.test(image.redisVersion) || !(supportedRedisLines as readonly string[]).includes(line)) {
                throw new Error(
                    `\`redisVersion\` ${show(image.redisVersion)} is not a release of a supported Redis Open Source line (${supportedRedisLines.map((known) => `${known}.N`).join(", ")})`,
                );
            }
            return { name: "redis", line: line as EngineLine, modules: redisModules };
        }
        case "redis-stack": {
            const line = versionLine(image.redisStackVersion);
            if (!(supportedStackLines as readonly string[]).includes(line)) {
                throw new Error(
                    `\`redisStackVersion\` ${show(image.redisStackVersion)} is not a build of a supported line (${supportedStackLines.map((known) => `${known}.0-vN`).join(", ")})`,
                );
            }
            return { name: "redis", line: line as EngineLine, modules: stackModules };
        }
        case "debian":
        case "valkey": {
            const name: EngineName = image.redisSource === "debian" ? "redis" : "valkey";
            const release = debianReleaseOf(image.baseImage);
            const offers = (Object.keys(debianReleases) as DebianRelease[])
                .filter((known) => debianReleases[known][name] !== undefined)
                .map((known) => `${known} (${name} ${debianReleases[known][name]})`);
            if (release === undefined) {
                throw new Error(
                    `\`redisSource\` ${show(image.redisSource)} installs the ${name} packages of the base image's Debian release, and \`baseImage\` ${show(image.baseImage)} names no release the program knows; use one that names ${offers.join(" or ")}, e.g. "debian:${offers[offers.length - 1].split(" ")[0]}"`,
                );
            }
            const line = debianReleases[release][name];
            if (line === undefined) {
                throw new Error(
                    `\`redisSource\` ${show(image.redisSource)} needs a Debian release that packages ${name}: \`baseImage\` ${show(image.baseImage)} is ${release}, which does not; use ${offers.join(" or ")}`,
                );
            }
            return { name, line, modules: [] };
        }
        default:
            throw new Error(`\`redisSource\` must be one of ${redisSources.join(", ")}, got ${show(image.redisSource)}`);
    }
}

/**
 * The RDB format each engine line writes, in its snapshots and at the start of its AOF; a server reads its own format
 * and older ones only. Valkey 8 kept the format of Redis 7.2, from which it forked. From 8.6 on, each Redis minor
 * raises it (`src/rdb.h`: 8.6 13, 8.8 14, 8.10 15), so a cluster on one of them cannot go back to an older line.
 */
const rdbFormats: Readonly<Record<string, number>> = {
    "redis 7.0": 10,
    "redis 7.2": 11,
    "redis 7.4": 12,
    "redis 8.0": 12,
    "redis 8.2": 12,
    "redis 8.4": 12,
    "redis 8.6": 13,
    "redis 8.8": 14,
    "redis 8.10": 15,
    "valkey 8.0": 11,
    "valkey 8.1": 11,
};

/** The RDB format of "redis 8.0.2" or of an engine; undefined for a line the program does not know. */
export function rdbFormatOf(engine: string): number | undefined {
    const [name, version = ""] = engine.split(" ");
    return rdbFormats[`${name} ${versionLine(version)}`];
}

/** Whether version `a` ("8.10.2") is of a later line than `b` ("8.2"): majors, then minors, compared as numbers. */
const newerLine = (a: string, b: string) => {
    const [aMajor = 0, aMinor = 0] = a.split(".").map(Number);
    const [bMajor = 0, bMinor = 0] = b.split(".").map(Number);
    return aMajor > bMajor || (aMajor === bMajor && aMinor > bMinor);
};

/**
 * Why the image's engine `target` cannot take over from nodes that run `running` (as `npm run status` shows them:
 * "redis 8.0.2", "valkey 8.1.1"), or undefined when it can. Refused: a dataset of a newer RDB format than the target
 * reads (the first replaced node would refuse to start, and the update would stop there with that node down), and a
 * downgrade to an older line of the same server even in the same format (a replica older than its master is not
 * supported, and an older server or module may not read what a newer one wrote).
 */
export function switchRefusal(running: readonly string[], target: Engine): string | undefined {
    const readsUpTo = rdbFormatOf(`${target.name} ${target.line}`);
    if (readsUpTo === undefined) {
        return undefined;
    }
    const keep =
        "Keep `redisSource`, `redisVersion`, `redisStackVersion` and `baseImage` as they are, or move the data to a new cluster (README: Choosing the engine)";
    const newer = running.filter((engine) => (rdbFormatOf(engine) ?? 0) > readsUpTo);
    if (newer.length > 0) {
        const formats = [...new Set(newer.map((engine) => `${engine} (RDB format ${rdbFormatOf(engine)})`))].join(", ");
        return (
            `refusing to switch engine: the nodes run ${formats}, and the new image's ${target.name} ${target.line} reads ` +
            `RDB formats up to ${readsUpTo}, so the first node replaced could not load its data. ${keep}`
        );
    }
    const later = running.filter((engine) => {
        const [name, version = ""] = engine.split(" ");
        return name === target.name && rdbFormatOf(engine) !== undefined && newerLine(version, target.line);
    });
    if (later.length > 0) {
        return (
            `refusing to downgrade: the nodes run ${[...new Set(later)].join(", ")}, newer than the new image's ` +
            `${target.name} ${target.line}; a replica older than its master is not supported, and the older server or ` +
            `its modules may not read what the newer one wrote. ${keep}`
        );
    }
    return undefined;
}
