import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { NodeAddress, TlsSettings } from "../settings/types";

/** PEM material of one certificate holder; the key is secret. */
export interface CertifiedKey {
    readonly certPem: pulumi.Output<string>;
    readonly keyPem: pulumi.Output<string>;
}

/** The cluster's PKI: the CA certificate, a certificate for each node by name, and client certificates by name. */
export interface ClusterCertificates {
    readonly caCertPem: pulumi.Output<string>;
    readonly nodes: Readonly<Record<string, CertifiedKey>>;
    readonly clients: Readonly<Record<string, CertifiedKey>>;
}

/** How long the CA the program makes is valid (ten years), and when `pulumi up` renews it (the last year). */
export const caValidityHours = 87_600;
export const caEarlyRenewalHours = 8_760;

/** What a node certificate may do: serve TLS, and be the client of replication and of the Sentinels' links. */
export const nodeCertificateUses = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];
export const clientCertificateUses = ["digital_signature", "key_encipherment", "client_auth"];

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
    ownCaKey: pulumi.Input<string> | undefined,
): ClusterCertificates {
    let caCertPem: pulumi.Output<string>;
    let caKeyPem: pulumi.Output<string>;
    if (settings.caCertificate !== undefined && ownCaKey !== undefined) {
        caCertPem = pulumi.output(settings.caCertificate);
        caKeyPem = pulumi.secret(ownCaKey);
    } else {
        const caKey = key("tls-ca-key", parent);
        const ca = new tls.SelfSignedCert(
            "tls-ca",
            {
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                subject: { commonName: "redis-sentinel-docker CA", organization: "redis-sentinel-docker" },
                allowedUses: ["cert_signing", "crl_signing"],
                validityPeriodHours: caValidityHours,
                earlyRenewalHours: caEarlyRenewalHours,
            },
            { parent },
        );
        caCertPem = ca.certPem;
        caKeyPem = pulumi.secret(caKey.privateKeyPem);
    }
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
                caCertPem,
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
            nodes.map((node) => [
                node.name,
                certify(
                    node.name,
                    node.name,
                    { ips: [node.ip, "127.0.0.1"], dnsNames: [node.name, "localhost"] },
                    nodeCertificateUses,
                ),
            ]),
        ),
        clients: Object.fromEntries(
            clients.map((name) => [
                name,
                certify(name, `redis-sentinel-docker ${name}`, { ips: [], dnsNames: [] }, clientCertificateUses),
            ]),
        ),
    };
}
