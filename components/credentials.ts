import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Principal, principals } from "../acl";
import { generatedPasswordSpec } from "../render/passwords";

/**
 * One secret password per principal: the stack's own where it sets one, otherwise a RandomPassword child of `parent`.
 * Everything returned is marked secret (mocks and some providers do not mark RandomPassword.result themselves).
 */
export function clusterPasswords(
    parent: pulumi.Resource,
    overrides: Partial<Record<Principal, pulumi.Input<string>>>,
): Record<Principal, pulumi.Output<string>> {
    const entries = principals.map((principal) => {
        const given = overrides[principal];
        const value =
            given !== undefined
                ? pulumi.output(given)
                : new random.RandomPassword(`${principal}-password`, generatedPasswordSpec, { parent }).result;
        return [principal, pulumi.secret(value)] as const;
    });
    return Object.fromEntries(entries) as Record<Principal, pulumi.Output<string>>;
}
