import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ImageSettings } from "../settings/types";

/** The build context, relative to the project, so that state does not depend on where the project is checked out. */
export const imageContext = "./image";

/** Build arguments of image/Dockerfile; the end-to-end tests build with the same ones. */
export function imageBuildArgs(image: ImageSettings): Record<string, string> {
    return {
        BASE_IMAGE: image.baseImage,
        REDIS_SOURCE: image.redisSource,
        REDIS_STACK_VERSION: image.redisStackVersion,
    };
}

/** Builds the one image that every Redis node and Sentinel runs; local only, never pushed. */
export function buildImage(parent: pulumi.Resource, image: ImageSettings): docker.Image {
    return new docker.Image(
        "redis-image",
        {
            imageName: image.imageName,
            build: { context: imageContext, dockerfile: `${imageContext}/Dockerfile`, args: imageBuildArgs(image) },
            skipPush: true,
        },
        { parent },
    );
}
