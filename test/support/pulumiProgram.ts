import * as pulumi from "@pulumi/pulumi";
import { generatePassword } from "../../render";
import { projectName } from "../../settings";
import { certRequest, newPrivateKey, selfSignedCa, signCertificate } from "../../tools/lib/pki";

/** A resource the program declared, as the engine would receive it. */
export interface DeclaredResource {
    readonly type: string;
    readonly name: string;
    /** Inputs in plain form, secrets unwrapped. */
    readonly inputs: Record<string, any>;
    /** Top-level input names that the engine receives as secrets (and so keeps encrypted in state). */
    readonly secretInputs: Set<string>;
    readonly id: string;
    /** The resource's URN in the mock engine. */
    readonly urn: string;
    /**
     * The URNs it depends on, as its registration gave them to the engine (dependsOn and every resource an input came
     * from): the engine's dependency graph, which orders its steps.
     */
    readonly dependencies: readonly string[];
    /** For each input, the URNs its value came from: the edges along which the engine cascades replacements. */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** The state the mock provider answered with. */
    readonly state: Readonly<Record<string, any>>;
    /** The explicit provider reference ("urn::id") it was registered with; undefined for the default provider. */
    readonly provider?: string;
}

export interface ProgramRun {
    readonly resources: DeclaredResource[];
    /** The stack outputs, resolved (secrets included, in plain text: tests only). */
    readonly outputs: Record<string, unknown>;
    /** Which stack outputs are secret. */
    readonly secretOutputs: Set<string>;
    /** The module's raw exports, to check secretness of Outputs. */
    readonly exports: Record<string, unknown>;
    byType(type: string): DeclaredResource[];
    one(type: string, name: string): DeclaredResource;
}

/** The id a local image gets in the mock engine; the Docker provider reports the built image's id as repoDigest. */
export const mockImageId = (imageName: string) => `sha256:mock-${imageName}`;

/**
 * The @pulumi/tls resources, answered with real PEM made by openssl (tools/lib/pki.ts), so that the rendered files
 * and what the e2e tests deploy carry working certificates.
 */
const tlsMocks: Readonly<Record<string, (inputs: Record<string, any>) => Record<string, string>>> = {
    "tls:index/privateKey:PrivateKey": () => ({ privateKeyPem: newPrivateKey() }),
    "tls:index/selfSignedCert:SelfSignedCert": (inputs) => ({
        certPem: selfSignedCa(inputs.privateKeyPem, inputs.subject.commonName, inputs.validityPeriodHours, inputs.allowedUses),
    }),
    "tls:index/certRequest:CertRequest": (inputs) => ({
        certRequestPem: certRequest(
            inputs.privateKeyPem,
            inputs.subject.commonName,
            inputs.ipAddresses ?? [],
            inputs.dnsNames ?? [],
        ),
    }),
    "tls:index/locallySignedCert:LocallySignedCert": (inputs) => ({
        certPem: signCertificate(
            inputs.certRequestPem,
            inputs.caCertPem,
            inputs.caPrivateKeyPem,
            inputs.validityPeriodHours,
            inputs.allowedUses,
        ),
    }),
};

/** The marker with which the engine's wire format wraps a secret value. */
const secretSignature = "4dabf18193072939515e22adb298388d";

function isWrappedSecret(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && secretSignature in value;
}

function unwrapSecrets(value: unknown): unknown {
    if (isWrappedSecret(value)) {
        return unwrapSecrets(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, unwrapSecrets(inner)]));
    }
    return value;
}

/** Resolves an Output's value, secret or not. */
export const valueOf = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((resolve) => output.apply(resolve));

interface Registration {
    urn?: string;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getDependenciesList(): string[];
    getPropertydependenciesMap(): { forEach(visit: (value: { getUrnsList(): string[] }, key: string) => void): void };
}
type RegisterCallback = (error: unknown, response?: { getUrn(): string }) => void;

/**
 * Wraps the mock engine's RegisterResource so that each registration's URN and dependency list are kept: the mocks'
 * newResource sees neither, and the deployer needs both to order its steps as the engine would.
 */
function recordRegistrations(registrations: Map<string, Registration>, key: (type: string, name: string) => string): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings") as {
        getMonitor(): { registerResource(request: RegisterRequest, callback: RegisterCallback): void };
    };
    const monitor = settings.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (request, callback) => {
        const registration: Registration = { dependencies: request.getDependenciesList(), propertyDependencies: {} };
        request.getPropertydependenciesMap().forEach((value, property) => {
            registration.propertyDependencies[property] = value.getUrnsList();
        });
        registrations.set(key(request.getType(), request.getName()), registration);
        register(request, (error, response) => {
            registration.urn = response?.getUrn();
            callback(error, response);
        });
    };
}

/** Waits until the mock engine has received every registration the program has made so far. */
async function settled(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
    await settings.waitForRPCs();
}

/**
 * Runs the program (index.ts) against Pulumi's mock engine with the given stack config (unqualified keys, values as
 * `pulumi config set` stores them) and returns every resource it declared with its inputs and the stack outputs.
 * `load` must load index.ts afresh (under jest: `jest.isolateModules`).
 */
export async function runProgram(
    config: Readonly<Record<string, string>>,
    load: () => Record<string, unknown>,
    secretKeys: readonly string[] = [],
    /** What a StackReference to each stack name reads: its outputs, and which of them are secret. */
    stackReferences: Readonly<Record<string, { outputs: Record<string, unknown>; secret: string[] }>> = {},
    /**
     * The run this one updates: a generated password keeps the value it had there, as the engine keeps a
     * RandomPassword's result in its state while the resource's inputs stay the same.
     */
    previous?: ProgramRun,
): Promise<ProgramRun> {
    const resources: DeclaredResource[] = [];
    // What the engine learns from each registration besides the inputs: the URN it answers and the dependencies.
    const registrations = new Map<string, Registration>();
    const registrationKey = (type: string, name: string) => `${type}::${name}`;
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                const inputs = unwrapSecrets(args.inputs) as Record<string, any>;
                const secretInputs = new Set(Object.keys(args.inputs).filter((key) => isWrappedSecret(args.inputs[key])));
                const state = { ...inputs };
                if (args.type === "docker:index/image:Image") {
                    state.repoDigest = mockImageId(inputs.imageName);
                }
                if (args.type === "docker:index/remoteImage:RemoteImage") {
                    state.imageId = mockImageId(inputs.name);
                }
                if (args.type === "pulumi:pulumi:StackReference") {
                    const referenced = stackReferences[inputs.name];
                    if (!referenced) {
                        throw new Error(`no mock outputs for the stack reference ${inputs.name}`);
                    }
                    state.outputs = referenced.outputs;
                    state.secretOutputNames = referenced.secret;
                }
                // A generated value keeps the one it had in the run this one updates while its inputs stay the same, as
                // the engine keeps it in its state; otherwise it is made the way the provider makes it.
                const kept = previous?.resources.find((r) => r.type === args.type && r.name === args.name);
                const unchanged = kept !== undefined && JSON.stringify(kept.inputs) === JSON.stringify(inputs);
                if (args.type === "random:index/randomPassword:RandomPassword") {
                    // With the same alphabet and length.
                    state.result = unchanged ? kept.state.result : generatePassword();
                }
                if (args.type in tlsMocks) {
                    Object.assign(state, unchanged ? kept.state : tlsMocks[args.type](inputs));
                }
                const id = `${args.name}-id`;
                const registration = registrations.get(registrationKey(args.type, args.name));
                resources.push({
                    type: args.type,
                    name: args.name,
                    inputs,
                    secretInputs,
                    id,
                    get urn() {
                        return registration?.urn ?? "";
                    },
                    dependencies: registration?.dependencies ?? [],
                    propertyDependencies: registration?.propertyDependencies ?? {},
                    state,
                    provider: args.provider,
                });
                return { id, state };
            },
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
        },
        projectName,
        "test",
        false,
    );
    recordRegistrations(registrations, registrationKey);
    const qualified = (key: string) => `${projectName}:${key}`;
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([key, value]) => [qualified(key), value])),
        secretKeys.map(qualified),
    );
    let programExports: Record<string, unknown>;
    try {
        programExports = load();
    } catch (error) {
        // Tests assert that bad config stops the program before anything is declared.
        await settled();
        throw Object.assign(error as Error, { declaredResources: resources.length });
    }
    const outputs: Record<string, unknown> = {};
    const secretOutputs = new Set<string>();
    for (const [key, value] of Object.entries(programExports)) {
        if (pulumi.Output.isInstance(value)) {
            outputs[key] = await valueOf(value);
            if (await pulumi.isSecret(value)) {
                secretOutputs.add(key);
            }
        } else {
            outputs[key] = value;
        }
    }
    await settled();
    return {
        resources,
        outputs,
        secretOutputs,
        exports: programExports,
        byType: (type) => resources.filter((resource) => resource.type === type),
        one(type, name) {
            const found = resources.find((resource) => resource.type === type && resource.name === name);
            if (!found) {
                throw new Error(`no ${type} named ${name}; declared: ${resources.map((r) => `${r.type}/${r.name}`).join(", ")}`);
            }
            return found;
        },
    };
}
