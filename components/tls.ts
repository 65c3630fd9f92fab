import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { caCertificateUses, clientCertificateUses, nodeCertificateNames, nodeCertificateUses } from "../render/certificates";
import { rotationGenerations, RotationStatus, rotationStatus } from "../render/passwords";
import { ExporterTls, exportersNeedCertificate, NodeTls } from "../render/render";
import { NodeAddress, Settings, TlsSettings } from "../settings/types";

/** PEM material of one certificate holder; the key is secret. */
export interface CertifiedKey {
    readonly certPem: pulumi.Output<string>;
    readonly keyPem: pulumi.Output<string>;
}

/**
 * The cluster's PKI: the CAs everything trusts (a PEM bundle of two), a certificate for each node by name, and client
 * certificates by name, all issued by one of the two.
 */
export interface ClusterCertificates {
    readonly caCertPem: pulumi.Output<string>;
    readonly nodes: Readonly<Record<string, CertifiedKey>>;
    readonly clients: Readonly<Record<string, CertifiedKey>>;
}

/** How long the CA the program makes is valid (ten years), and when `pulumi up` renews it (the last year). */
export const caValidityHours = 87_600;
export const caEarlyRenewalHours = 8_760;

const key = (name: string, parent: pulumi.Resource) =>
    new tls.PrivateKey(name, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent });

/**
 * Makes the CA (or takes the stack's own), then a key and a certificate for every node, with its IP address and name,
 * and 127.0.0.1 for the node's own health check, in the SAN, and a client certificate for each of `clients`. Keys and certificates live in the stack's state, keys
 * encrypted. A certificate within `earlyRenewalHours` of its expiry is replaced by the next `pulumi up`
 * (LocallySignedCert's readyForRenewal), and so are the containers that carry it, one at a time.
 */
export function clusterCertificates(
    parent: pulumi.Resource,
    settings: TlsSettings,
    nodes: readonly NodeAddress[],
    clients: readonly string[],
    /** The private keys of the stack's own CAs: `settings.caCertificate`'s and `settings.nextCaCertificate`'s. */
    ownCaKeys: readonly [pulumi.Input<string> | undefined, pulumi.Input<string> | undefined],
): ClusterCertificates {
    // Two CAs at every rotation step, as with passwords (rotationGenerations): the first is the stack's own when it
    // sets one, the others the program makes, generation 0 under the names it has always had. Each generation has a
    // subject of its own, so that a verifier looking up the issuer by name finds the right one in the bundle.
    const generations = rotationGenerations(settings.caRotation);
    const cas = generations.accepted.map((generation, index) => {
        const own = [settings.caCertificate, settings.nextCaCertificate][index];
        const ownKey = ownCaKeys[index];
        if (own !== undefined && ownKey !== undefined) {
            return { certPem: pulumi.output(own), keyPem: pulumi.secret(ownKey) };
        }
        const suffix = generation === 0 ? "" : `-${generation}`;
        const caKey = key(`tls-ca-key${suffix}`, parent);
        const ca = new tls.SelfSignedCert(
            `tls-ca${suffix}`,
            {
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                subject: {
                    commonName: generation === 0 ? "redis-sentinel-docker CA" : `redis-sentinel-docker CA ${generation}`,
                    organization: "redis-sentinel-docker",
                },
                allowedUses: caCertificateUses,
                validityPeriodHours: caValidityHours,
                earlyRenewalHours: caEarlyRenewalHours,
            },
            { parent },
        );
        return { certPem: ca.certPem, keyPem: pulumi.secret(caKey.privateKeyPem) };
    });
    const issuer = cas[generations.inProgress ? 1 : 0];
    const caCertPem = pulumi.all(cas.map((ca) => ca.certPem)).apply((pems) => pems.map((pem) => `${pem.trimEnd()}\n`).join(""));
    const caKeyPem = issuer.keyPem;
    const certify = (name: string, commonName: string, names: { ips: string[]; dnsNames: string[] }, uses: string[]) => {
        const privateKey = key(`${name}-tls-key`, parent);
        const request = new tls.CertRequest(
            `${name}-tls-request`,
            {
                privateKeyPem: privateKey.privateKeyPem,
                subject: { commonName },
                ipAddresses: names.ips,
                dnsNames: names.dnsNames,
            },
            { parent },
        );
        const certificate = new tls.LocallySignedCert(
            `${name}-tls-cert`,
            {
                certRequestPem: request.certRequestPem,
                caCertPem: issuer.certPem,
                caPrivateKeyPem: caKeyPem,
                allowedUses: uses,
                validityPeriodHours: settings.validityHours,
                earlyRenewalHours: settings.earlyRenewalHours,
            },
            { parent },
        );
        return { certPem: certificate.certPem, keyPem: pulumi.secret(privateKey.privateKeyPem) };
    };
    return {
        caCertPem,
        nodes: Object.fromEntries(
            nodes.map((node) => [node.name, certify(node.name, node.name, nodeCertificateNames(node), nodeCertificateUses)]),
        ),
        clients: Object.fromEntries(
            clients.map((name) => [
                name,
                certify(name, `redis-sentinel-docker ${name}`, { ips: [], dnsNames: [] }, clientCertificateUses),
            ]),
        ),
    };
}

/** What a client needs for TLS (tlsEnabled): the CA, and the client certificate and its secret key if one was asked for. */
export interface ClusterTlsOutputs {
    /** The CAs to trust: a PEM bundle of the two the rotation step trusts (README, "Rotating the CA"). */
    readonly caCertificate: pulumi.Output<string>;
    /** Where the CA's rotation stands (tlsCaRotation). */
    readonly caRotation: RotationStatus;
    readonly clientCertificate?: pulumi.Output<string>;
    readonly clientKey?: pulumi.Output<string>;
}

/** The TLS material of each part of the cluster, in the shapes the renderers take; undefined throughout with TLS off. */
export interface ClusterTls {
    forNode(node: NodeAddress): pulumi.Output<NodeTls | undefined>;
    readonly forExporters: pulumi.Output<ExporterTls | undefined>;
    readonly outputs?: ClusterTlsOutputs;
}

/**
 * The cluster's certificates (clusterCertificates) when TLS is on: one per node, one for the client when the stack
 * asks for it, one for the exporters when the nodes check their clients' certificates.
 */
export function clusterTls(
    parent: pulumi.Resource,
    settings: Settings,
    ownCaKeys: readonly [pulumi.Input<string> | undefined, pulumi.Input<string> | undefined],
): ClusterTls {
    if (!settings.tls.enabled) {
        return { forNode: () => pulumi.output(undefined), forExporters: pulumi.output(undefined) };
    }
    const { topology } = settings;
    const clients = [
        ...(settings.tls.clientCertificate ? ["client"] : []),
        ...(settings.metrics.enabled && exportersNeedCertificate(settings) ? ["metrics"] : []),
    ];
    const certificates = clusterCertificates(
        parent,
        settings.tls,
        [...topology.redisNodes, ...topology.sentinelNodes],
        clients,
        ownCaKeys,
    );
    const { caCertPem } = certificates;
    const { metrics, client } = certificates.clients;
    return {
        forNode: (node) => {
            const { certPem, keyPem } = certificates.nodes[node.name];
            return pulumi.all([caCertPem, certPem, keyPem]).apply(([ca, cert, key]) => ({ ca, cert, key }));
        },
        forExporters: pulumi
            .all([caCertPem, metrics?.certPem, metrics?.keyPem])
            .apply(([ca, cert, key]) => ({ ca, client: cert && key ? { cert, key } : undefined })),
        outputs: {
            caCertificate: caCertPem,
            caRotation: rotationStatus(settings.tls.caRotation),
            clientCertificate: client?.certPem,
            clientKey: client && pulumi.secret(client.keyPem),
        },
    };
}
