import { randomInt } from "crypto";
import { Principal, principals } from "../acl";
import { Passwords } from "./render";

/** Generated passwords: letters, digits, "-" and "_" only, which no config or ACL parser interprets. */
export const generatedPasswordSpec = { length: 40, special: true, overrideSpecial: "-_" } as const;

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + generatedPasswordSpec.overrideSpecial;

/** A password like the program's RandomPassword makes, for rendering outside Pulumi. */
export function generatePassword(): string {
    return Array.from({ length: generatedPasswordSpec.length }, () => alphabet[randomInt(alphabet.length)]).join("");
}

/** Fills every principal's password from `given`, generating the missing ones. */
export function completePasswords(given: Partial<Record<Principal, string>>): Passwords {
    return Object.fromEntries(principals.map((principal) => [principal, given[principal] ?? generatePassword()])) as Passwords;
}

/** Which password generations a principal's rotation step uses (README, "Rotating a password"). */
export interface RotationGenerations {
    /** The two generations every node accepts: `<principal>Password` is the first, `<principal>NextPassword` the second. */
    readonly accepted: readonly [number, number];
    /** The generation every login uses (the nodes', and the one the stack outputs give the application). */
    readonly login: number;
    /** An odd step: logins have moved to the second password, and the first is still accepted until the next step. */
    readonly inProgress: boolean;
}

/**
 * At step k the nodes accept generations floor(k/2) and floor(k/2) + 1 and log in with ceil(k/2): at an even step the
 * first, the second being a standby that nothing uses, and at an odd step the second. From one step to the next both
 * the old and the new containers accept what the other logs in with, so `pulumi up` can replace them one at a time in
 * any order (replicas log in to whichever node is master): raising an even step moves every login onto the standby
 * while the old password still works, raising the odd step after it drops the old password and adds a new standby.
 */
export function rotationGenerations(step: number): RotationGenerations {
    const first = Math.floor(step / 2);
    return { accepted: [first, first + 1], login: Math.ceil(step / 2), inProgress: step % 2 === 1 };
}

/** Where a rotation stands, as the stack outputs and `npm run status` give it; no secret in it. */
export interface RotationStatus {
    readonly step: number;
    /** An odd step: logins (or certificates) use the new one, the old one is still accepted until the next step. */
    readonly inProgress: boolean;
}

export const rotationStatus = (step: number): RotationStatus => ({ step, inProgress: rotationGenerations(step).inProgress });
