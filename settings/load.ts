import { builtinUsers, Principal, principals } from "../acl";
import { ConfigReader, readRawSettings } from "./raw";
import { parseDockerHosts, parseDockerHostsTls, parsePlacedExporterList, parsePlacedNodeList, validatePlacement } from "./hosts";
import {
    DockerHostTls,
    ImageSettings,
    NodeAddress,
    MetricsSettings,
    RedisSource,
    Settings,
    TlsAuthClients,
    TlsSettings,
} from "./types";
import {
    parseExporterList,
    parseNodeList,
    validateAppUser,
    validateImage,
    validateMetrics,
    validatePassword,
    validateRotationStep,
    validateTls,
    validateTlsCaKey,
    validateTopology,
} from "./validate";

/** Stack config key of each principal's password. */
export const passwordKey = (principal: Principal) => `${principal}Password`;
/** Stack config key of each principal's second accepted password (README, "Rotating a password"). */
export const nextPasswordKey = (principal: Principal) => `${principal}NextPassword`;
/** Stack config key of each principal's rotation step. */
export const passwordRotationKey = (principal: Principal) => `${principal}PasswordRotation`;

/** Reads, types and validates every setting; throws an error naming the key and value before anything is created. */
export function loadSettings(read: ConfigReader): Settings {
    const raw = readRawSettings(read);
    const text = (key: string) => raw[key] as string;
    const number = (key: string) => raw[key] as number;
    const flag = (key: string) => raw[key] as boolean;
    const list = (key: string) => raw[key] as string[];

    const hosts = parseDockerHosts("dockerHosts", list("dockerHosts"));
    const nodeList = (key: string) =>
        hosts.length > 0 ? parsePlacedNodeList(key, list(key), hosts) : parseNodeList(key, list(key));
    const topology = {
        hosts,
        networkName: text("networkName"),
        subnet: text("subnet"),
        gateway: text("gateway"),
        masterName: text("masterName"),
        redisNodes: nodeList("redisNodes"),
        sentinelNodes: nodeList("sentinelNodes"),
        quorum: number("quorum"),
        downAfterMilliseconds: number("downAfterMilliseconds"),
        failoverTimeout: number("failoverTimeout"),
        parallelSyncs: number("parallelSyncs"),
        minReplicasToWrite: number("minReplicasToWrite"),
        minReplicasMaxLag: number("minReplicasMaxLag"),
    };
    validateTopology(topology);

    const image: ImageSettings = {
        imageName: text("imageName"),
        ...(text("prebuiltImage").trim() !== "" && { prebuilt: text("prebuiltImage").trim() }),
        baseImage: text("baseImage"),
        redisSource: text("redisSource") as RedisSource,
        redisVersion: text("redisVersion"),
        redisStackVersion: text("redisStackVersion"),
        modules: list("modules"),
    };
    validateImage(image);

    const appUser = { name: text("appUser"), rules: text("appUserRules") };
    validateAppUser(appUser, builtinUsers);

    const enabled = flag("metricsEnabled");
    const common = {
        enabled,
        port: number("metricsPort"),
        imageName: text("metricsImageName"),
        baseImage: text("metricsBaseImage"),
    };
    // The list is checked only when it is used: a stack without metrics need not keep it in step with its nodes.
    const metrics: MetricsSettings =
        enabled && hosts.length > 0
            ? {
                  ...common,
                  ...parsePlacedExporterList("metricsExporters", list("metricsExporters"), [
                      ...topology.redisNodes,
                      ...topology.sentinelNodes,
                  ]),
              }
            : { ...common, exporters: enabled ? parseExporterList("metricsExporters", list("metricsExporters")) : {} };
    validateMetrics(metrics, topology);

    const tls: TlsSettings = {
        enabled: flag("tlsEnabled"),
        authClients: text("tlsAuthClients") as TlsAuthClients,
        plainTextPortOffset: number("tlsPlainTextPortOffset"),
        clientCertificate: flag("tlsClientCertificate"),
        caCertificate: text("tlsCaCertificate").trim() === "" ? undefined : text("tlsCaCertificate"),
        nextCaCertificate: text("tlsNextCaCertificate").trim() === "" ? undefined : text("tlsNextCaCertificate"),
        caRotation: number("tlsCaRotation"),
        validityHours: number("tlsValidityHours"),
        earlyRenewalHours: number("tlsEarlyRenewalHours"),
    };
    validateRotationStep("tlsCaRotation", tls.caRotation);
    validateTls(tls, topology);
    if (hosts.length > 0) {
        // Every port a node takes on its host: its own, its plain-text one (TLS migration) and its exporter's.
        const portsOf = (node: NodeAddress) => [
            ...(tls.enabled && tls.plainTextPortOffset > 0 ? [node.port + tls.plainTextPortOffset] : []),
            ...(metrics.ports?.[node.name] !== undefined ? [metrics.ports[node.name]] : []),
        ];
        validatePlacement(topology, portsOf);
    }
    return { topology, image, appUser, metrics, tls };
}

/**
 * Passwords the stack sets itself (`<principal>Password`, or with `keyOf = nextPasswordKey` the second accepted ones);
 * the rest are generated. Each is validated without ever printing it.
 */
export function loadPasswordOverrides(
    read: ConfigReader,
    keyOf: (principal: Principal) => string = passwordKey,
): Partial<Record<Principal, string>> {
    const overrides: Partial<Record<Principal, string>> = {};
    for (const principal of principals) {
        const key = keyOf(principal);
        const value = read(key);
        if (value !== undefined && value !== "") {
            validatePassword(key, value);
            overrides[principal] = value;
        }
    }
    return overrides;
}

/** Each principal's rotation step (`<principal>PasswordRotation`, 0 unless the stack sets one). */
export function loadPasswordRotation(read: ConfigReader): Record<Principal, number> {
    const raw = readRawSettings(read);
    const steps = principals.map((principal) => {
        const key = passwordRotationKey(principal);
        validateRotationStep(key, raw[key] as number);
        return [principal, raw[key] as number] as const;
    });
    return Object.fromEntries(steps) as Record<Principal, number>;
}

/**
 * The private key of the stack's own CA (a secret), checked against the CA certificate; undefined without one. With
 * `next`, the key of the second CA (`tlsNextCaPrivateKey`, against `tlsNextCaCertificate`).
 */
export function loadTlsCaKey(read: ConfigReader, settings: Settings, next = false): string | undefined {
    const [certificateKey, keyKey] = next
        ? ["tlsNextCaCertificate", "tlsNextCaPrivateKey"]
        : ["tlsCaCertificate", "tlsCaPrivateKey"];
    const key = read(keyKey);
    const given = key === undefined || key.trim() === "" ? undefined : key;
    validateTlsCaKey(next ? settings.tls.nextCaCertificate : settings.tls.caCertificate, given, certificateKey, keyKey);
    return given;
}

/**
 * The client certificates of the tcp:// Docker hosts (`dockerHostsTls`, a secret), by host name; every tcp:// host
 * must have them. Errors never show the value.
 */
export function loadDockerHostsTls(read: ConfigReader, settings: Settings): Record<string, DockerHostTls> {
    return parseDockerHostsTls("dockerHostsTls", read("dockerHostsTls"), settings.topology.hosts);
}
