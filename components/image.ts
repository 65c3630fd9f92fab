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
    };
}

/** A local image built from one of the project's contexts; never pushed. */
function localImage(
    name: string,
    parent: pulumi.Resource,
    imageName: string,
    context: string,
    args: Record<string, string>,
    provider?: docker.Provider,
): docker.Image {
    return new docker.Image(
        name,
        { imageName, build: { context, dockerfile: `${context}/Dockerfile`, args }, skipPush: true },
        { parent, ...(provider && { provider }) },
    );
}

/**
 * Builds the one image that every Redis node and Sentinel runs: on the default engine, or, with `dockerHosts`, on the
 * engine of `host` (`redis-image-<host>`), so that no registry is needed.
 */
export function buildImage(
    parent: pulumi.Resource,
    image: ImageSettings,
    host?: { name: string; provider: docker.Provider },
): docker.Image {
    const name = host ? `redis-image-${host.name}` : "redis-image";
    return localImage(name, parent, image.imageName, imageContext, imageBuildArgs(image), host?.provider);
}

/**
 * Builds the image of the Prometheus exporters (metricsEnabled) from Debian's prometheus-redis-exporter: on the
 * default engine, or on the engine of `host` (`exporter-image-<host>`).
 */
export function buildExporterImage(
    parent: pulumi.Resource,
    metrics: MetricsSettings,
    host?: { name: string; provider: docker.Provider },
): docker.Image {
    const name = host ? `exporter-image-${host.name}` : "exporter-image";
    const args = { BASE_IMAGE: metrics.baseImage };
    return localImage(name, parent, metrics.imageName, exporterImageContext, args, host?.provider);
}
