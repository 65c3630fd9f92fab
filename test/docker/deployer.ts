import Docker from "dockerode";
import { DeclaredResource } from "../support/pulumiProgram";
import { goDuration, parseGoDuration } from "../../components/goDuration";
import { changedInputs, updatableContainerInputs } from "./plan";
import { tarOf } from "./tarEntries";

/** Every network, volume and container the tests make carries this label, so that tear-down finds them all. */
export const e2eLabel = "redis-sentinel-docker.e2e";
const labels = { [e2eLabel]: "true" };

const types = {
    network: "docker:index/network:Network",
    volume: "docker:index/volume:Volume",
    container: "docker:index/container:Container",
} as const;
/** Docker resources the deployer does not create itself: the fixture builds the image. */
const builtByFixture = new Set(["docker:index/image:Image"]);

/** Network and volume inputs the deployer applies; like container inputs, anything else fails the deployment. */
const supportedNetworkInputs = new Set(["name", "driver", "attachable", "internal", "ipamConfigs", "labels"]);
const supportedVolumeInputs = new Set(["name", "driver", "driverOpts", "labels"]);

/** Container inputs the deployer knows how to apply; any other input fails the deployment rather than being dropped. */
const supportedContainerInputs = new Set([
    "name",
    "image",
    "command",
    "entrypoints",
    "user",
    "envs",
    "workingDir",
    "hostname",
    "labels",
    "networksAdvanced",
    "networkMode",
    "volumes",
    "uploads",
    "healthcheck",
    "restart",
    "maxRetryCount",
    "stopTimeout",
    "stopSignal",
    "logDriver",
    "logOpts",
    "wait",
    "waitTimeout",
    "mustRun",
    "destroyGraceSeconds",
]);

/** What one container went through in a deployment, with times (ms since the epoch), as the engine would report it. */
export interface ContainerStep {
    readonly name: string;
    readonly op: "create" | "replace" | "update" | "same";
    /** The fields whose recorded state differs from what the program declares (update and replace). */
    readonly changed?: readonly string[];
    /** When the step began: for a replacement, when the old container began to stop. */
    readonly startedAt: number;
    /** When the old container was gone (replacements only). */
    readonly deletedAt?: number;
    /** When the step was done: for create and replace, when the new container was healthy. */
    readonly doneAt: number;
    /** What the old container logged last, as it stopped (replacements only): the log goes with the container. */
    readonly lastWords?: string;
}

const pollIntervalMs = 250;
/** The provider's default when `wait` is set without `waitTimeout`. */
const defaultWaitTimeoutSeconds = 60;

/** Fails on an input the deployer would otherwise drop, so that a change to the program cannot pass untested. */
function refuseUnsupported(what: string, inputs: Record<string, unknown>, supported: ReadonlySet<string>): void {
    const unsupported = Object.keys(inputs).filter((key) => !supported.has(key));
    if (unsupported.length > 0) {
        throw new Error(`${what}: the deployer does not implement input(s) ${unsupported.join(", ")}`);
    }
}

/** The provider's `labels` input (a list of {label, value}) as the engine's map. */
const labelMap = (list: { label: string; value: string }[] | undefined): Record<string, string> =>
    Object.fromEntries((list ?? []).map(({ label, value }) => [label, value]));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const isNotFound = (error: unknown) => (error as { statusCode?: number }).statusCode === 404;

/** The last lines of a container's log, to explain why it did not come up. */
export async function logTail(container: Docker.Container, lines = 30): Promise<string> {
    try {
        const buffer = (await container.logs({ stdout: true, stderr: true, tail: lines })) as unknown as Buffer;
        return demuxLogBuffer(buffer);
    } catch (error) {
        return `(no logs: ${(error as Error).message})`;
    }
}

/** Strips the 8-byte frame headers of a non-TTY log buffer. */
export function demuxLogBuffer(buffer: Buffer): string {
    const chunks: Buffer[] = [];
    let offset = 0;
    while (offset + 8 <= buffer.length) {
        const size = buffer.readUInt32BE(offset + 4);
        chunks.push(buffer.subarray(offset + 8, offset + 8 + size));
        offset += 8 + size;
    }
    return Buffer.concat(chunks).toString("utf8");
}

/**
 * Creates what the program declares (captured under Pulumi's mocks) on a real engine, with the Docker provider's
 * semantics: create the container, move it from the default bridge to its networks with their static addresses,
 * upload the files as root-owned tar entries at `/`, start it and wait until it is healthy.
 */
export class Deployer {
    private readonly declared = new Map<string, DeclaredResource>();
    /** Containers that forgetHost took out of the state: the next update creates them without deleting them first. */
    private readonly forgotten = new Set<string>();
    /** The networks and volumes of the last deployment, by type and name. */
    private readonly others = new Map<string, DeclaredResource>();
    /**
     * What the engine's state holds for each container, by name: its outputs as the provider's Read last set them
     * (the provider's Create ends with a Read), which is what the next `up` diffs the program against.
     */
    private readonly state = new Map<string, Record<string, unknown>>();

    /**
     * `images` maps the image reference the program passes (the mock's repoDigest) to the image the fixture built (on
     * every engine: a saved and loaded image keeps its id). `engines` maps each explicit provider, by its name
     * (`docker-<host>`), to its host's engine; a resource without one goes to `docker`, the default provider's.
     */
    constructor(
        private readonly docker: Docker,
        private readonly images: Map<string, string>,
        private readonly engines: ReadonlyMap<string, Docker> = new Map(),
    ) {}

    /** The engine that a resource's provider drives, as the engine routes each step to the resource's provider. */
    private engineOf(resource: Pick<DeclaredResource, "provider" | "name">): Docker {
        if (resource.provider === undefined || resource.provider === "") {
            return this.docker;
        }
        const name = providerName(resource.provider)!;
        const engine = this.engines.get(name);
        if (!engine) {
            throw new Error(`${resource.name}: the deployer has no engine for provider ${name}`);
        }
        return engine;
    }

    /** Every engine the deployer drives. */
    private get allEngines(): Docker[] {
        return [this.docker, ...this.engines.values()];
    }

    /** Removes what the e2e runs left on every engine. */
    private async removeEverywhere(): Promise<void> {
        for (const engine of this.allEngines) {
            await removeLabelled(engine).catch(() => undefined);
        }
    }

    /**
     * The first `pulumi up`: networks, then volumes, then the containers, each as soon as the containers it depends on
     * are up (the engine registers a resource only once its dependencies have been created: see run()).
     */
    async deploy(resources: readonly DeclaredResource[]): Promise<ContainerStep[]> {
        const known = new Set<string>([...Object.values(types), ...builtByFixture]);
        const unknown = resources.filter((resource) => resource.type.startsWith("docker:") && !known.has(resource.type));
        if (unknown.length > 0) {
            throw new Error(
                `the deployer cannot create ${unknown.map((resource) => `${resource.type} ${resource.name}`).join(", ")}`,
            );
        }
        const ofType = (type: string) => resources.filter((resource) => resource.type === type);
        try {
            for (const network of ofType(types.network)) {
                await this.createNetwork(this.engineOf(network), network.inputs);
                this.others.set(`${network.type}::${network.name}`, network);
            }
            for (const volume of ofType(types.volume)) {
                await this.createVolume(this.engineOf(volume), volume.inputs);
                this.others.set(`${volume.type}::${volume.name}`, volume);
            }
            const containers = ofType(types.container);
            const steps = await this.run(containers, async (container) => {
                const startedAt = Date.now();
                await this.createContainer(container);
                await this.record(container);
                return { name: container.name, op: "create", startedAt, doneAt: Date.now() };
            });
            for (const container of containers) {
                this.declared.set(container.inputs.name, container);
            }
            return steps;
        } catch (error) {
            await this.removeEverywhere();
            throw error;
        }
    }

    /**
     * A later `pulumi up` of a changed program. The engine diffs each resource's new inputs against its recorded
     * *outputs* (it sends the provider's Diff the old outputs as `Olds`: pulumi/pulumi
     * sdk/go/common/resource/plugin/provider_plugin.go, Diff; the bridge builds its prior state from them), and the
     * state holds what the provider's Read last reported (see record). So each container is diffed against that, and
     * then, once the containers it depends on are done, left alone, updated in place (the provider's Update: the
     * restart policy, and a start when `must_run` went from false to true, without a health wait), or replaced
     * (deleteBeforeReplace: stop and remove the old one, create the new one and wait until it is healthy).
     * Independent containers go in parallel, as the engine's step executor runs them. Networks and volumes must be
     * unchanged, and no container may be added or removed: the deployer does not implement those.
     */
    async update(resources: readonly DeclaredResource[]): Promise<ContainerStep[]> {
        for (const resource of resources.filter((r) => r.type === types.network || r.type === types.volume)) {
            const key = `${resource.type}::${resource.name}`;
            const before = this.others.get(key);
            const changed = before ? changedInputs(before.inputs, resource.inputs) : ["(new)"];
            if (changed.length === 0) {
                this.others.set(key, resource);
                continue;
            }
            // A volume whose host label changed (a node moved to another host): the new one is created there first,
            // and the old one, retainOnDelete, is only dropped from the state (its data stays on the old host).
            if (resource.type === types.volume && before && changed.every((input) => input === "labels")) {
                await this.createVolume(this.engineOf(resource), resource.inputs);
                this.others.set(key, resource);
                continue;
            }
            throw new Error(
                `the deployer does not implement a change to ${resource.type} ${resource.name}: ${changed.join(", ")}`,
            );
        }
        const containers = resources.filter((resource) => resource.type === types.container);
        const names = containers.map((container) => container.inputs.name as string);
        if (names.length !== this.declared.size || names.some((name) => !this.declared.has(name))) {
            throw new Error(
                `the deployer cannot add or remove containers: had ${this.containerNames.join(", ")}, now ${names.join(", ")}`,
            );
        }
        return this.run(containers, async (container) => {
            const name = container.inputs.name as string;
            const last = this.declared.get(name)!;
            const { op, changed } = this.stepFor(container);
            const startedAt = Date.now();
            this.declared.set(name, container);
            const forgotten = this.forgotten.delete(name);
            if (op === "same") {
                return { name, op, changed, startedAt, doneAt: startedAt };
            }
            if (op === "update") {
                await this.updateInPlace(container, changed);
                return { name, op, changed, startedAt, doneAt: Date.now() };
            }
            // The old container goes through the provider recorded with it in the state, the new one through the
            // one the program names now (they differ when the node moved to another host).
            const lastWords = forgotten || !this.state.has(name) ? "(not in the state)" : await this.deleteContainer(last);
            const deletedAt = Date.now();
            await this.createContainer(container);
            await this.record(container);
            return { name, op: "replace", changed, startedAt, deletedAt, doneAt: Date.now(), lastWords };
        });
    }

    /**
     * What `pulumi preview` would say of each container of `resources` against the state: the same, an in-place
     * update, or a replacement, with the fields that differ. Acts on nothing.
     */
    plan(resources: readonly DeclaredResource[]): { name: string; op: "same" | "update" | "replace"; changed: string[] }[] {
        return resources
            .filter((resource) => resource.type === types.container)
            .map((container) => ({ name: container.inputs.name as string, ...this.stepFor(container) }));
    }

    /**
     * `pulumi refresh`: the provider's Read of every container, recorded in the state. Among what it reads back, a
     * container that is not running gets `must_run` false (resource_docker_container_funcs.go, Read), and a container
     * that is gone leaves the state (the next update creates it). Returns what changed in the state, one
     * `name.field` each.
     */
    async refresh(): Promise<string[]> {
        const changes: string[] = [];
        for (const container of this.declared.values()) {
            const name = container.inputs.name as string;
            const before = this.state.get(name);
            if (!before) {
                continue;
            }
            const found = await this.engineOf(container)
                .getContainer(name)
                .inspect()
                .catch((error) => {
                    if (isNotFound(error)) {
                        return undefined;
                    }
                    throw error;
                });
            if (!found) {
                this.state.delete(name);
                changes.push(`${name}: gone`);
                continue;
            }
            const after = readInto(before, container.inputs, found);
            this.state.set(name, after);
            changes.push(...changedInputs(before, after).map((field) => `${name}.${field}`));
        }
        return changes;
    }

    /** What the engine would do to one container: its declared state against the recorded one. */
    private stepFor(container: DeclaredResource): { op: "same" | "update" | "replace"; changed: string[] } {
        const name = container.inputs.name as string;
        const recorded = this.forgotten.has(name) ? undefined : this.state.get(name);
        if (!recorded) {
            return { op: "replace", changed: ["(not in the state)"] };
        }
        const changed = changedInputs(recorded, declaredState(container.inputs, this.images.get(container.inputs.image)));
        if (changed.length === 0) {
            return { op: "same", changed };
        }
        // A provider change alone replaces nothing: the engine replaces on it only when the new provider's
        // DiffConfig says so (pulumi/pulumi step_generator.go, providerChanged), and pulumi-docker's never does.
        return { op: changed.every((field) => updatableContainerInputs.has(field)) ? "update" : "replace", changed };
    }

    /**
     * The provider's Update (resource_docker_container_funcs.go, resourceDockerContainerUpdate): start the container
     * when `must_run` went from false to true, and apply the restart policy when it changed. It does not wait for
     * the health check. The state then holds the declared values of what changed.
     */
    private async updateInPlace(container: DeclaredResource, changed: readonly string[]): Promise<void> {
        const name = container.inputs.name as string;
        const handle = this.engineOf(container).getContainer(name);
        const wanted = declaredState(container.inputs, this.images.get(container.inputs.image));
        const recorded = this.state.get(name)!;
        if (changed.includes("mustRun") && !recorded.mustRun && wanted.mustRun) {
            await handle.start().catch((error) => {
                // 304: already running (someone started it since the refresh).
                if ((error as { statusCode?: number }).statusCode !== 304) {
                    throw error;
                }
            });
        }
        if (changed.includes("restart") || changed.includes("maxRetryCount")) {
            await handle.update({
                RestartPolicy: { Name: container.inputs.restart ?? "no", MaximumRetryCount: container.inputs.maxRetryCount ?? 0 },
            });
        }
        this.state.set(name, { ...recorded, ...Object.fromEntries(changed.map((field) => [field, wanted[field]])) });
    }

    /** The provider's Read after a create: what the state records for the container. */
    private async record(container: DeclaredResource): Promise<void> {
        const inspected = await this.engineOf(container).getContainer(container.inputs.name).inspect();
        const declared = declaredState(container.inputs, this.images.get(container.inputs.image));
        this.state.set(container.inputs.name, readInto(declared, container.inputs, inspected));
    }

    /**
     * `pulumi state delete` of every container and volume that the last deployment placed on the host of `provider`
     * (`docker-<host>`): what an operator does for a host lost for good, whose engine no longer answers, so that the
     * next `up` creates its nodes elsewhere instead of failing to delete them there. The state forgets them; nothing
     * on the lost host is touched.
     */
    forgetHost(provider: string): string[] {
        const names = [...this.declared.values()]
            .filter((container) => providerName(container.provider) === provider)
            .map((container) => container.inputs.name as string);
        names.forEach((name) => this.forgotten.add(name));
        return names;
    }

    /**
     * Runs `step` for every container, each once the steps of the containers it depends on have finished, the rest
     * in parallel: the order and parallelism the engine's graph gives. The Node SDK registers a resource only after
     * every resource it depends on has registered (sdk/nodejs/runtime/resource.ts, prepareResource: "all our
     * dependencies must be finished"), and the engine answers a registration when its step is done (step.go:
     * CreateStep.Apply calls reg.Done after the provider's Create, which with `wait` returns once healthy). Waits for
     * every step before it fails, so that no tear-down races a step still running.
     */
    private async run(
        containers: readonly DeclaredResource[],
        step: (container: DeclaredResource) => Promise<ContainerStep>,
    ): Promise<ContainerStep[]> {
        const byUrn = new Map(containers.map((container) => [container.urn, container]));
        const started = new Map<DeclaredResource, Promise<ContainerStep>>();
        const start = (container: DeclaredResource): Promise<ContainerStep> => {
            let promise = started.get(container);
            if (!promise) {
                const before = container.dependencies.filter((urn) => byUrn.has(urn)).map((urn) => start(byUrn.get(urn)!));
                promise = Promise.all(before).then(() => step(container));
                started.set(container, promise);
            }
            return promise;
        };
        const results = await Promise.allSettled(containers.map(start));
        const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
        if (failed) {
            throw failed.reason;
        }
        return results.map((result) => (result as PromiseFulfilledResult<ContainerStep>).value);
    }

    /** Makes an image the fixture built known under the reference a new program run passes (see the constructor). */
    addImage(reference: string, imageId: string): void {
        this.images.set(reference, imageId);
    }

    /** The container names the program declared, in declaration order. */
    get containerNames(): string[] {
        return [...this.declared.keys()];
    }

    /** What `pulumi up` does when a container is replaced (deleteBeforeReplace): delete it, then create it again with the same inputs. */
    async replace(name: string): Promise<void> {
        const declared = this.declared.get(name);
        if (!declared) {
            throw new Error(`no declared container named ${name}`);
        }
        await this.deleteContainer(declared);
        await this.createContainer(declared);
        await this.record(declared);
    }

    /**
     * What the next `pulumi up` of `resources` would change in the running containers: each declared input that the
     * provider reads back from the engine (its Read, resource_docker_container_funcs.go), read back the same way and
     * compared as the provider's schema compares it (plain values; Go's form for durations, with the schema's
     * defaults). Inputs the provider cannot read back (uploads, wait, destroyGraceSeconds) keep their declared value
     * in its state, so they never differ. Empty when nothing would change.
     */
    async diff(resources: readonly DeclaredResource[]): Promise<string[]> {
        const differences: string[] = [];
        for (const resource of resources.filter((candidate) => candidate.type === types.container)) {
            const { inputs } = resource;
            const inspected = await this.engineOf(resource).getContainer(inputs.name).inspect();
            const { declared, state } = readBack(inputs, inspected, this.images.get(inputs.image));
            for (const field of Object.keys(declared)) {
                const [want, have] = [JSON.stringify(declared[field]), JSON.stringify(state[field])];
                if (want !== have) {
                    differences.push(`${inputs.name}.${field}: state ${have}, program ${want}`);
                }
            }
        }
        return differences;
    }

    private async createNetwork(docker: Docker, inputs: Record<string, any>): Promise<void> {
        refuseUnsupported(`network ${inputs.name}`, inputs, supportedNetworkInputs);
        await docker.createNetwork({
            Name: inputs.name,
            Driver: inputs.driver ?? "bridge",
            Attachable: Boolean(inputs.attachable),
            Internal: Boolean(inputs.internal),
            CheckDuplicate: true,
            IPAM: {
                Driver: "default",
                Config: (inputs.ipamConfigs ?? []).map((config: Record<string, string>) => ({
                    Subnet: config.subnet,
                    Gateway: config.gateway,
                    IPRange: config.ipRange,
                })),
            },
            Labels: { ...labelMap(inputs.labels), ...labels },
        });
    }

    private async createVolume(docker: Docker, inputs: Record<string, any>): Promise<void> {
        refuseUnsupported(`volume ${inputs.name}`, inputs, supportedVolumeInputs);
        await docker.createVolume({
            Name: inputs.name,
            Driver: inputs.driver ?? "local",
            DriverOpts: inputs.driverOpts ?? {},
            Labels: { ...labelMap(inputs.labels), ...labels },
        });
    }

    /**
     * The provider's delete: stop gracefully only when destroyGraceSeconds is set, otherwise remove by force (SIGKILL).
     * Returns the last lines the container logged, read before it goes.
     */
    private async deleteContainer(resource: DeclaredResource): Promise<string> {
        const { inputs } = resource;
        const container = this.engineOf(resource).getContainer(inputs.name);
        if (inputs.destroyGraceSeconds) {
            await container.stop({ t: inputs.destroyGraceSeconds });
        }
        const lastWords = await logTail(container, 200);
        await container.remove({ force: true });
        await container.wait({ condition: "removed" }).catch((error) => {
            if (!isNotFound(error)) {
                throw error;
            }
        });
        return lastWords;
    }

    private async createContainer(resource: DeclaredResource): Promise<void> {
        const { inputs } = resource;
        const docker = this.engineOf(resource);
        refuseUnsupported(`container ${inputs.name}`, inputs, supportedContainerInputs);
        const image = this.images.get(inputs.image);
        if (!image) {
            throw new Error(`container ${inputs.name}: image ${inputs.image} was not built by the fixture`);
        }
        const healthcheck = inputs.healthcheck;
        const container = await docker.createContainer({
            name: inputs.name,
            Image: image,
            Cmd: inputs.command,
            Entrypoint: inputs.entrypoints,
            User: inputs.user,
            Env: inputs.envs,
            WorkingDir: inputs.workingDir,
            Hostname: inputs.hostname,
            Labels: { ...labelMap(inputs.labels), ...labels },
            StopTimeout: inputs.stopTimeout,
            StopSignal: inputs.stopSignal,
            Healthcheck: healthcheck && {
                Test: healthcheck.tests,
                Interval: healthcheck.interval && parseGoDuration(healthcheck.interval),
                Timeout: healthcheck.timeout && parseGoDuration(healthcheck.timeout),
                StartPeriod: healthcheck.startPeriod && parseGoDuration(healthcheck.startPeriod),
                Retries: healthcheck.retries,
            },
            HostConfig: {
                Binds: (inputs.volumes ?? []).map(
                    (volume: Record<string, any>) =>
                        `${volume.volumeName ?? volume.hostPath}:${volume.containerPath}${volume.readOnly ? ":ro" : ""}`,
                ),
                RestartPolicy: { Name: inputs.restart ?? "no", MaximumRetryCount: inputs.maxRetryCount ?? 0 },
                NetworkMode: inputs.networkMode,
                LogConfig: { Type: inputs.logDriver ?? "json-file", Config: inputs.logOpts ?? {} },
            },
        });
        if (inputs.networksAdvanced) {
            await docker
                .getNetwork("bridge")
                .disconnect({ Container: container.id })
                .catch((error: Error) => {
                    if (!/is not connected/.test(error.message)) {
                        throw error;
                    }
                });
            for (const network of inputs.networksAdvanced as Record<string, any>[]) {
                await docker.getNetwork(network.name).connect({
                    Container: container.id,
                    EndpointConfig: { Aliases: network.aliases, IPAMConfig: { IPv4Address: network.ipv4Address } },
                });
            }
        }
        for (const upload of (inputs.uploads ?? []) as Record<string, any>[]) {
            const content = upload.contentBase64
                ? Buffer.from(upload.contentBase64, "base64")
                : Buffer.from(upload.content ?? "", "utf8");
            await container.putArchive(tarOf([{ path: upload.file, content, mode: upload.executable ? 0o744 : 0o644 }]), {
                path: "/",
            });
        }
        await container.start();
        await this.waitUntilReady(container, inputs);
    }

    /**
     * As the provider's create does with `wait` (resource_docker_container_funcs.go, waitForHealthyState): poll until
     * the container is healthy, and fail only when waitTimeout has passed, not sooner when it turns unhealthy or
     * exits (the engine then records the container with an init error, and a later `up` retries it).
     */
    private async waitUntilReady(container: Docker.Container, inputs: Record<string, any>): Promise<void> {
        if (!inputs.wait) {
            return;
        }
        const timeoutMs = (inputs.waitTimeout ?? defaultWaitTimeoutSeconds) * 1000;
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const { State } = await container.inspect();
            const health = State.Health?.Status;
            if (health === "healthy") {
                return;
            }
            if (Date.now() > deadline) {
                const running = State.Running ? "running" : `not running (exit ${State.ExitCode})`;
                throw new Error(
                    `container ${inputs.name} is ${health ?? "without a health check"}, ${running}, after ${timeoutMs} ms; its log:\n${await logTail(container)}`,
                );
            }
            await sleep(pollIntervalMs);
        }
    }
}

/**
 * The container inputs the provider reads back, as declared (with the schema's defaults) and as its Read sets them
 * from `docker inspect`. Health check timings come back through Go's Duration.String(): "60s" reads "1m0s".
 */
function readBack(
    inputs: Record<string, any>,
    inspected: Docker.ContainerInspectInfo,
    imageId: string | undefined,
): { declared: Record<string, unknown>; state: Record<string, unknown> } {
    return { declared: declaredForm(inputs, imageId), state: readForm(inputs, inspected) };
}

/** The inputs the provider reads back, in the form its Read gives them, as the program declares them. */
function declaredForm(inputs: Record<string, any>, imageId: string | undefined): Record<string, unknown> {
    const declaredHealth = inputs.healthcheck;
    return {
        name: inputs.name,
        image: imageId,
        command: inputs.command,
        networkMode: inputs.networkMode ?? "bridge",
        networksAdvanced: (inputs.networksAdvanced ?? []).map((network: Record<string, any>) => [
            network.name,
            network.ipv4Address,
        ]),
        volumes: (inputs.volumes ?? []).map((volume: Record<string, any>) => [volume.volumeName, volume.containerPath]),
        restart: inputs.restart ?? "no",
        stopTimeout: inputs.stopTimeout,
        logDriver: inputs.logDriver ?? "json-file",
        // The provider reads log options back only when the program sets some (containerLogOptsForState).
        logOpts: inputs.logOpts ?? null,
        healthcheck: declaredHealth && {
            test: declaredHealth.tests,
            interval: declaredHealth.interval ?? "0s",
            timeout: declaredHealth.timeout ?? "0s",
            startPeriod: declaredHealth.startPeriod ?? "0s",
            startInterval: declaredHealth.startInterval ?? "0s",
            retries: declaredHealth.retries ?? 0,
        },
    };
}

/** The same inputs as the provider's Read sets them from `docker inspect`. */
function readForm(inputs: Record<string, any>, inspected: Docker.ContainerInspectInfo): Record<string, unknown> {
    const health = inspected.Config.Healthcheck as
        | { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number }
        | undefined;
    const nsAsGo = (ns: number | undefined) => goDuration((ns ?? 0) / 1e6);
    const networks = inspected.NetworkSettings.Networks as Record<string, { IPAMConfig?: { IPv4Address?: string } }>;
    return {
        name: inspected.Name.replace(/^\//, ""),
        image: inspected.Image,
        command: inspected.Config.Cmd,
        // The provider reads network_mode back, and reads networks_advanced only for networks other than the mode's.
        networkMode: inspected.HostConfig.NetworkMode === "default" ? "bridge" : inspected.HostConfig.NetworkMode,
        networksAdvanced: Object.entries(networks)
            .filter(([name]) => name !== inspected.HostConfig.NetworkMode)
            .map(([name, network]) => [name, network.IPAMConfig?.IPv4Address]),
        volumes: inspected.Mounts.filter((mount) => mount.Type === "volume").map((mount) => [mount.Name, mount.Destination]),
        restart: inspected.HostConfig.RestartPolicy?.Name,
        stopTimeout: (inspected.Config as { StopTimeout?: number }).StopTimeout,
        logDriver: inspected.HostConfig.LogConfig?.Type,
        logOpts: inputs.logOpts ? (inspected.HostConfig.LogConfig?.Config ?? {}) : null,
        healthcheck: health && {
            test: health.Test,
            interval: nsAsGo(health.Interval),
            timeout: nsAsGo(health.Timeout),
            startPeriod: nsAsGo(health.StartPeriod),
            startInterval: nsAsGo(health.StartInterval),
            retries: health.Retries ?? 0,
        },
    };
}

/**
 * What the state would hold for a container just created from `inputs` before its Read: every input as declared
 * (the provider keeps what it cannot read back, such as uploads and must_run, as declared), the readable ones in the
 * form the Read gives them, and must_run with its schema default (true).
 */
function declaredState(inputs: Record<string, any>, imageId: string | undefined): Record<string, unknown> {
    return { ...inputs, ...declaredForm(inputs, imageId), mustRun: inputs.mustRun ?? true };
}

/**
 * The provider's Read into the recorded state `prior`: the readable inputs from `docker inspect`, and must_run
 * false when the container is not running ("Setting must_run to false in state to trigger update",
 * resource_docker_container_funcs.go, Read); the rest as recorded.
 */
function readInto(
    prior: Record<string, unknown>,
    inputs: Record<string, any>,
    inspected: Docker.ContainerInspectInfo,
): Record<string, unknown> {
    return { ...prior, ...readForm(inputs, inspected), mustRun: inspected.State.Running ? prior.mustRun : false };
}

/** Removes every container, network and volume carrying the e2e label (this run's or a crashed one's). Returns what went. */
export async function removeLabelled(docker: Docker): Promise<string[]> {
    const filters = JSON.stringify({ label: [e2eLabel] });
    const removed: string[] = [];
    for (const info of await docker.listContainers({ all: true, filters })) {
        await docker
            .getContainer(info.Id)
            .remove({ force: true })
            .catch((error) => {
                if (!isNotFound(error)) {
                    throw error;
                }
            });
        removed.push(`container ${info.Names[0].replace(/^\//, "")}`);
    }
    for (const info of await docker.listNetworks({ filters })) {
        await docker.getNetwork(info.Id).remove();
        removed.push(`network ${info.Name}`);
    }
    const { Volumes } = await docker.listVolumes({ filters });
    for (const info of Volumes ?? []) {
        await docker.getVolume(info.Name).remove();
        removed.push(`volume ${info.Name}`);
    }
    return removed;
}

/** The name of the provider resource in a provider reference ("<urn>::<id>", the URN ending in "::<name>"). */
export function providerName(reference: string | undefined): string | undefined {
    if (reference === undefined || reference === "") {
        return undefined;
    }
    const parts = reference.split("::");
    return parts[parts.length - 2];
}
