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
 * one whose provider changed is replaced (the engine's step generator replaces a resource whose provider reference
 * changes to another provider), and otherwise the inputs decide: unchanged is the same, only updatable inputs is an
 * update, anything else a replacement. Components have no provider and no diff of their own: they are the same when
 * their URN is.
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
        if (last.provider !== next.provider) {
            steps.push({ urn, op: "replace", changed: ["provider", ...changed] });
        } else if (changed.length === 0) {
            steps.push({ urn, op: "same", changed });
        } else {
            const inPlace =
                urn.includes("docker:index/container:Container") && changed.every((c) => updatableContainerInputs.has(c));
            steps.push({ urn, op: inPlace ? "update" : "replace", changed });
        }
    }
    for (const urn of Object.keys(before).filter((urn) => !(urn in after))) {
        steps.push({ urn, op: "delete", changed: [] });
    }
    return steps;
}
