import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Principal } from "../../acl";
import { RotationStatus } from "../../render/passwords";
import { NodeAddress } from "../../settings/types";

/** A Redis node as the stack outputs describe it. */
export interface DescribedRedisNode extends NodeAddress {
    readonly role: "master" | "replica";
}

/** What the stack outputs (and the end-to-end `.e2e/cluster.json`) say about a running cluster. */
export interface ClusterDescription {
    readonly masterName: string;
    readonly network: string;
    readonly redisNodes: readonly DescribedRedisNode[];
    readonly sentinelNodes: readonly NodeAddress[];
    readonly appUser: string;
    readonly passwords: Readonly<Record<Principal, string>>;
    /** Each principal's password rotation step, and whether one is in progress (absent in outputs of older versions). */
    readonly passwordRotation?: Readonly<Partial<Record<Principal, RotationStatus>>>;
    /** With dockerHosts: each host's name, address and Docker endpoint (`docker`). */
    readonly hosts?: readonly { readonly name: string; readonly address: string; readonly docker: string }[];
    /** With tlsEnabled: the CA's PEM, and the client certificate and key when the stack issued one. */
    readonly tlsCaCertificate?: string;
    /** With tlsEnabled: the CA's rotation step, and whether one is in progress. */
    readonly tlsCaRotation?: RotationStatus;
    readonly tlsClientCertificate?: string;
    readonly tlsClientKey?: string;
}

/** Node's TLS options for a connection to the cluster: its CA, and the client certificate if there is one; undefined without TLS. */
export function tlsOptionsOf(
    description: Pick<ClusterDescription, "tlsCaCertificate" | "tlsClientCertificate" | "tlsClientKey">,
): { ca: string; cert?: string; key?: string } | undefined {
    if (!description.tlsCaCertificate) {
        return undefined;
    }
    return {
        ca: description.tlsCaCertificate,
        ...(description.tlsClientCertificate && description.tlsClientKey
            ? { cert: description.tlsClientCertificate, key: description.tlsClientKey }
            : {}),
    };
}

/** A login to a node: a user, its password and, with TLS, how to speak it. */
export interface Login {
    readonly username: string;
    readonly password: string;
    readonly tls?: { ca: string; cert?: string; key?: string };
}

/** The login of `principal` (the application user's name for "app"), with the cluster's TLS options. */
export function loginAs(description: ClusterDescription, principal: Principal): Login {
    return {
        username: principal === "app" ? description.appUser : principal,
        password: description.passwords[principal],
        tls: tlsOptionsOf(description),
    };
}

function checkDescription(source: string, value: unknown): ClusterDescription {
    const description = value as Partial<ClusterDescription>;
    const missing = ["masterName", "redisNodes", "sentinelNodes", "passwords"].filter(
        (key) => description[key as keyof ClusterDescription] === undefined,
    );
    if (missing.length > 0) {
        throw new Error(`${source} lacks ${missing.join(", ")}; expected the stack outputs of this program`);
    }
    return description as ClusterDescription;
}

/** Reads a file of the stack outputs' shape, such as `.e2e/cluster.json`. */
export function readDescriptionFile(file: string): ClusterDescription {
    return checkDescription(file, JSON.parse(fs.readFileSync(file, "utf8")));
}

/** The local file backend that `npm run deploy` uses, unless the user chose another. */
const localBackend = path.join(__dirname, "..", "..", ".pulumi-state");

/** Asks the Pulumi CLI for the stack's outputs, secrets included; they stay in memory. */
export function readStackOutputs(stack?: string): ClusterDescription {
    const args = ["stack", "output", "--json", "--show-secrets", ...(stack ? ["--stack", stack] : [])];
    const env = { ...process.env };
    if (env.PULUMI_BACKEND_URL === undefined && fs.existsSync(localBackend)) {
        env.PULUMI_BACKEND_URL = `file://${localBackend}`;
    }
    const json = execFileSync("pulumi", args, { encoding: "utf8", env, timeout: 60_000, stdio: ["ignore", "pipe", "inherit"] });
    return checkDescription("`pulumi stack output`", JSON.parse(json));
}

/** `--from FILE` wins; otherwise the current (or `--stack`) Pulumi stack. */
export function loadDescription(options: { from?: string; stack?: string }): ClusterDescription {
    return options.from ? readDescriptionFile(options.from) : readStackOutputs(options.stack);
}

export const address = (node: { ip: string; port: number }) => `${node.ip}:${node.port}`;
