import { createHash } from "crypto";
import { DeclaredResource, ProgramRun } from "./pulumiProgram";

/**
 * A program run as the engine would store it, reduced to what decides whether a later version of the program changes
 * a deployed stack: each resource's URN, provider, dependencies and inputs. Values that differ from run to run
 * (generated passwords, their ACL hashes, PEM material from the mocks) are replaced by stable placeholders that still
 * say which secret stood there, so that a change in which secret goes where shows.
 */
export interface ResourceSnapshot {
    readonly urn: string;
    readonly provider: string | null;
    readonly dependencies: string[];
    readonly propertyDependencies: Record<string, string[]>;
    readonly inputs: unknown;
}

const pemPattern = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----\n?/g;

/**
 * Replaces every password (and its SHA-256, as the ACL files hold it) and every PEM block by a placeholder: the ones
 * logins use by principal, the other generated ones (standbys, passwords a rotation still accepts) by resource name.
 */
function masker(run: ProgramRun): (text: string) => string {
    const logins = Object.entries(run.outputs.passwords as Record<string, string>);
    const generated = run.resources
        .filter((resource) => resource.type === "random:index/randomPassword:RandomPassword")
        .map((resource) => [resource.name, resource.state.result as string] as const)
        .filter(([, password]) => !logins.some(([, login]) => login === password));
    const replacements = [...logins, ...generated].flatMap(([principal, password]) => [
        [createHash("sha256").update(password).digest("hex"), `<sha256 of ${principal}>`],
        [password, `<password of ${principal}>`],
    ]);
    return (text) =>
        replacements
            .reduce((masked, [secret, placeholder]) => masked.split(secret).join(placeholder), text)
            .replace(pemPattern, (_, label: string) => `<${label}>\n`);
}

function mapStrings(value: unknown, map: (text: string) => string): unknown {
    if (typeof value === "string") {
        return map(value);
    }
    if (Array.isArray(value)) {
        return value.map((item) => mapStrings(item, map));
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, mapStrings(inner, map)]));
    }
    return value;
}

/** Every resource of the run, by URN, as the engine would compare it with the next version's. */
export function snapshotOf(run: ProgramRun): Record<string, ResourceSnapshot> {
    const mask = masker(run);
    const one = (resource: DeclaredResource): ResourceSnapshot => ({
        urn: resource.urn,
        provider: resource.provider ?? null,
        dependencies: [...resource.dependencies].sort(),
        propertyDependencies: Object.fromEntries(
            Object.entries(resource.propertyDependencies)
                .filter(([, urns]) => urns.length > 0)
                .map(([key, urns]) => [key, [...urns].sort()])
                .sort(([a], [b]) => (a < b ? -1 : 1)),
        ),
        inputs: mapStrings(resource.inputs, mask),
    });
    return Object.fromEntries(
        run.resources.map((resource) => [resource.urn, one(resource)]).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
}
