import { ResourceSnapshot } from "../support/resourceSnapshot";

/** What `pulumi up` would do to one resource, given the stack's last deployment and the program's new run. */
export type PlannedOp = "same" | "update" | "replace" | "create" | "delete";

export interface PlannedStep {
    readonly urn: string;
    readonly op: PlannedOp;
    /** The inputs that differ (or "provider"), for update and replace. */
    readonly changed: readonly string[];
}

/**
 * Container inputs the provider updates in place (they are not ForceNew in resource_docker_container.go); a change to
 * any other input of a Docker resource replaces it. healthcheck is among them in the provider, but the program
 * replaces on it (replaceOnChanges), and the deployer follows the program's options.
 */
export const updatableContainerInputs: ReadonlySet<string> = new Set([
    "restart",
    "maxRetryCount",
    "wait",
    "waitTimeout",
    "destroyGraceSeconds",
    "mustRun",
]);

/** The names of the inputs whose declared values differ between two deployments (compared as the engine stores them). */
export function changedInputs(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
    const names = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...names].filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name]));
}

/**
 * The engine's plan, by URN: a resource it has not seen is created, one the program no longer declares is deleted,
 * and otherwise the inputs decide: unchanged is the same, only updatable inputs is an update, anything else a
 * replacement. A change of provider alone replaces nothing: the engine replaces on it only when the new provider's
 * DiffConfig asks for it (pulumi/pulumi pkg/resource/deploy/step_generator.go, providerChanged), which the bridge does
 * only for settings marked ForcesProviderReplace (pulumi-terraform-bridge pkg/tfbridge/provider.go, configDiffer),
 * and pulumi-docker marks none; it is listed among the changes all the same. Components have no provider and no
 * diff of their own: they are the same when their URN is.
 */
export function planOf(
    before: Readonly<Record<string, ResourceSnapshot>>,
    after: Readonly<Record<string, ResourceSnapshot>>,
): PlannedStep[] {
    const steps: PlannedStep[] = [];
    for (const [urn, next] of Object.entries(after)) {
        const last = before[urn];
        if (!last) {
            steps.push({ urn, op: "create", changed: [] });
            continue;
        }
        const changed = changedInputs(last.inputs as Record<string, unknown>, next.inputs as Record<string, unknown>);
        const providerChange = last.provider === next.provider ? [] : ["provider"];
        if (changed.length === 0) {
            steps.push({ urn, op: "same", changed: providerChange });
        } else {
            const inPlace =
                urn.includes("docker:index/container:Container") && changed.every((c) => updatableContainerInputs.has(c));
            steps.push({ urn, op: inPlace ? "update" : "replace", changed: [...providerChange, ...changed] });
        }
    }
    for (const urn of Object.keys(before).filter((urn) => !(urn in after))) {
        steps.push({ urn, op: "delete", changed: [] });
    }
    return steps;
}
