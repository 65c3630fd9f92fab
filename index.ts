import * as pulumi from "@pulumi/pulumi";
import { RedisSentinelCluster } from "./components";
import {
    loadDockerHostsTls,
    loadPasswordOverrides,
    loadPasswordRotation,
    loadSettings,
    loadTlsCaKey,
    nextPasswordKey,
    projectName,
} from "./settings";

// Raw reads: a secret password is validated in plain text here and wrapped as a secret at once.
const readConfig = (key: string) => pulumi.runtime.getConfig(`${projectName}:${key}`);

// Each throws, naming the key and the value, before any resource is declared.
const settings = loadSettings(readConfig);
const passwordOverrides = loadPasswordOverrides(readConfig);
const nextPasswordOverrides = loadPasswordOverrides(readConfig, nextPasswordKey);
const rotationSteps = loadPasswordRotation(readConfig);
const tlsCaPrivateKey = loadTlsCaKey(readConfig, settings);
const tlsNextCaPrivateKey = loadTlsCaKey(readConfig, settings, true);
const dockerHostsTls = loadDockerHostsTls(readConfig, settings);

function secretValues<K extends string>(values: Partial<Record<K, string>>): Partial<Record<K, pulumi.Output<string>>> {
    return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, pulumi.secret(value as string)])) as Partial<
        Record<K, pulumi.Output<string>>
    >;
}

const cluster = new RedisSentinelCluster("redis-sentinel", {
    settings,
    passwords: secretValues(passwordOverrides),
    nextPasswords: secretValues(nextPasswordOverrides),
    passwordRotation: rotationSteps,
    tlsCaPrivateKey: tlsCaPrivateKey === undefined ? undefined : pulumi.secret(tlsCaPrivateKey),
    tlsNextCaPrivateKey: tlsNextCaPrivateKey === undefined ? undefined : pulumi.secret(tlsNextCaPrivateKey),
    dockerHostsTls,
});

export const masterName = cluster.masterName;
export const network = cluster.networkName;
export const redisNodes = cluster.redisNodes;
export const sentinelNodes = cluster.sentinelNodes;
export const appUser = cluster.appUser;
/** With dockerHosts: each host's name, address and Docker endpoint (for `npm run status` and `drill --host`). */
export const hosts = cluster.hosts;
/** Where Prometheus scrapes each node's exporter (README, "Metrics"); empty unless metricsEnabled. */
export const metricsTargets = cluster.metricsTargets;
/** Secret: shown only with `pulumi stack output --show-secrets`. The ones logins use (README, "Rotating a password"). */
export const passwords = cluster.passwords;
/** Each principal's rotation step, and whether a rotation is in progress (the old password still accepted). */
export const passwordRotation = cluster.passwordRotation;
/** TLS (tlsEnabled): the CA certificate clients verify the nodes with; unset when TLS is off. */
export const tlsCaCertificate = cluster.tls?.caCertificate;
/** TLS: the CA's rotation step, and whether a rotation is in progress (the old CA still trusted). */
export const tlsCaRotation = cluster.tls?.caRotation;
/** The client certificate (tlsClientCertificate) and its key, secret. */
export const tlsClientCertificate = cluster.tls?.clientCertificate;
export const tlsClientKey = cluster.tls?.clientKey;
