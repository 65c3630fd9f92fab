import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Principal, principals } from "../acl";
import { generatedPasswordSpec, rotationGenerations } from "../render/passwords";

/** Every principal's passwords at its rotation step: what logins use, and the two every node accepts. All secret. */
export interface ClusterPasswords {
    readonly login: Record<Principal, pulumi.Output<string>>;
    readonly accepted: Record<Principal, pulumi.Output<string[]>>;
}

/** Passwords the stack sets itself, by principal: `<principal>Password` and `<principal>NextPassword`. */
export interface PasswordOverrides {
    readonly current?: Partial<Record<Principal, pulumi.Input<string>>>;
    readonly next?: Partial<Record<Principal, pulumi.Input<string>>>;
}

/**
 * For each principal, the two password generations its rotation step accepts (rotationGenerations): the stack's own
 * value where it sets one, otherwise a RandomPassword child of `parent` named after its generation. Generation 0 keeps
 * the name it has always had (`<principal>-password`), so a stack that never rotated keeps its passwords. A
 * generation no longer accepted is no longer declared, and `pulumi up` deletes its RandomPassword at the end.
 * Everything returned is marked secret (mocks and some providers do not mark RandomPassword.result themselves).
 */
export function clusterPasswords(
    parent: pulumi.Resource,
    overrides: PasswordOverrides,
    steps: Partial<Record<Principal, number>>,
): ClusterPasswords {
    const login = {} as Record<Principal, pulumi.Output<string>>;
    const accepted = {} as Record<Principal, pulumi.Output<string[]>>;
    for (const principal of principals) {
        const generations = rotationGenerations(steps[principal] ?? 0);
        const [first, second] = [overrides.current?.[principal], overrides.next?.[principal]].map((given, index) => {
            const generation = generations.accepted[index];
            const name = generation === 0 ? `${principal}-password` : `${principal}-password-${generation}`;
            const value = given ?? new random.RandomPassword(name, generatedPasswordSpec, { parent }).result;
            return pulumi.secret(pulumi.output(value));
        });
        login[principal] = generations.inProgress ? second : first;
        accepted[principal] = pulumi.secret(pulumi.all([first, second]));
    }
    return { login, accepted };
}
