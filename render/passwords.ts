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
