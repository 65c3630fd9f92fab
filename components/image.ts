import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ImageSettings, MetricsSettings } from "../settings/types";

/** The build contexts, relative to the project, so that state does not depend on where the project is checked out. */
export const imageContext = "./image";
export const exporterImageContext = "./exporter-image";

/** Build arguments of image/Dockerfile; the end-to-end tests build with the same ones. */
export function imageBuildArgs(image: ImageSettings): Record<string, string> {
    return {
        BASE_IMAGE: image.baseImage,
        REDIS_SOURCE: image.redisSource,
        REDIS_STACK_VERSION: image.redisStackVersion,
        // Only with the source that reads it, so that the other sources' images keep the build arguments they had.
        ...(image.redisSource === "redis" && { REDIS_VERSION: image.redisVersion }),
    };
}

/** The engine an image is built on: a `dockerHosts` host and its provider; undefined for the default engine. */
export type BuildHost = { readonly name: string; readonly provider: docker.Provider } | undefined;

/**
 * A local image built from one of the project's contexts, never pushed: `<base>` on the default engine, or
 * `<base>-<host>` on the engine of a `dockerHosts` host, so that no registry is needed.
 */
function localImage(
    base: string,
    parent: pulumi.Resource,
    imageName: string,
    context: string,
    args: Record<string, string>,
    host: BuildHost,
): docker.Image {
    return new docker.Image(
        host ? `${base}-${host.name}` : base,
        { imageName, build: { context, dockerfile: `${context}/Dockerfile`, args }, skipPush: true },
        { parent, ...(host && { provider: host.provider }) },
    );
}

/**
 * The one image that every Redis node and Sentinel runs, as the reference a container takes: built from image/, or,
 * with `prebuiltImage`, pulled (`redis-image-pull[-<host>]`, kept on destroy: other stacks may run it). Either way
 * the reference is the image's id, so that a new build or a new pull replaces the containers.
 */
export function buildImage(parent: pulumi.Resource, image: ImageSettings, host?: BuildHost): pulumi.Output<string> {
    if (image.prebuilt !== undefined) {
        const pulled = new docker.RemoteImage(
            host ? `redis-image-pull-${host.name}` : "redis-image-pull",
            { name: image.prebuilt, keepLocally: true },
            { parent, ...(host && { provider: host.provider }) },
        );
        return pulled.imageId;
    }
    return localImage("redis-image", parent, image.imageName, imageContext, imageBuildArgs(image), host).repoDigest;
}

/** Builds the image of the Prometheus exporters (metricsEnabled) from Debian's prometheus-redis-exporter. */
export function buildExporterImage(parent: pulumi.Resource, metrics: MetricsSettings, host?: BuildHost): docker.Image {
    return localImage("exporter-image", parent, metrics.imageName, exporterImageContext, { BASE_IMAGE: metrics.baseImage }, host);
}
