import * as pulumi from "@pulumi/pulumi";
import { RedisSentinelCluster } from "./components";
import { loadDockerHostsTls, loadPasswordOverrides, loadSettings, loadTlsCaKey, projectName } from "./settings";

// Raw reads: a secret password is validated in plain text here and wrapped as a secret at once.
const readConfig = (key: string) => pulumi.runtime.getConfig(`${projectName}:${key}`);

// Both throw, naming the key and the value, before any resource is declared.
const settings = loadSettings(readConfig);
const passwordOverrides = loadPasswordOverrides(readConfig);
const tlsCaPrivateKey = loadTlsCaKey(readConfig, settings);
const dockerHostsTls = loadDockerHostsTls(readConfig, settings);

const cluster = new RedisSentinelCluster("redis-sentinel", {
    settings,
    passwords: Object.fromEntries(
        Object.entries(passwordOverrides).map(([principal, value]) => [principal, pulumi.secret(value)]),
    ),
    tlsCaPrivateKey: tlsCaPrivateKey === undefined ? undefined : pulumi.secret(tlsCaPrivateKey),
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
/** Secret: shown only with `pulumi stack output --show-secrets`. */
export const passwords = cluster.passwords;
/** TLS (tlsEnabled): the CA certificate clients verify the nodes with; unset when TLS is off. */
export const tlsCaCertificate = cluster.tls?.caCertificate;
/** The client certificate (tlsClientCertificate) and its key, secret. */
export const tlsClientCertificate = cluster.tls?.clientCertificate;
export const tlsClientKey = cluster.tls?.clientKey;
