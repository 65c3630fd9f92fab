import { NodeAddress } from "../settings/types";

/**
 * What the cluster's certificates are for and whom they name: one policy for the program's @pulumi/tls resources
 * (components/tls.ts) and for the certificates openssl makes where no Pulumi engine runs (tools/lib/pki.ts).
 */

/** A node certificate serves TLS, and is the client certificate of replication and of the Sentinels' links. */
export const nodeCertificateUses = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];
export const clientCertificateUses = ["digital_signature", "key_encipherment", "client_auth"];
export const caCertificateUses = ["cert_signing", "crl_signing"];

/** The names in a node's certificate: its address and name, and loopback for its own health check. */
export const nodeCertificateNames = (node: NodeAddress) => ({
    ips: [node.ip, "127.0.0.1"],
    dnsNames: [node.name, "localhost"],
});
