/**
 * Certificates made with the `openssl` command, the same kinds the program's @pulumi/tls resources make: an ECDSA
 * P-256 key, a self-signed CA, a certificate request with IP and DNS names, and a certificate the CA signs. The
 * tests' mock engine answers the TLS resources with these (so rendered files carry real PEM), and the local test
 * cluster and `npm run render` use them where no Pulumi engine runs.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    caCertificateUses,
    clientCertificateUses,
    ClusterPem,
    KeyPair,
    nodeCertificateNames,
    nodeCertificateUses,
} from "../../render";
import { Settings } from "../../settings/types";

/** Extended key usages by the name @pulumi/tls gives them in `allowedUses`. */
const extendedUses: Readonly<Record<string, string>> = { server_auth: "serverAuth", client_auth: "clientAuth" };
const keyUses: Readonly<Record<string, string>> = {
    digital_signature: "digitalSignature",
    key_encipherment: "keyEncipherment",
    cert_signing: "keyCertSign",
    crl_signing: "cRLSign",
};

/** Runs openssl in a private temporary directory holding `files`; returns its standard output. */
function openssl(args: (dir: string) => string[], files: Record<string, string> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pki-"));
    try {
        for (const [name, content] of Object.entries(files)) {
            fs.writeFileSync(path.join(dir, name), content, { mode: 0o600 });
        }
        return execFileSync("openssl", args(dir), {
            cwd: dir,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            timeout: 10_000,
        });
    } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? "";
        throw new Error(`openssl ${args("<dir>")[0]} failed: ${stderr.trim() || (error as Error).message}`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** An ECDSA P-256 private key in PEM ("EC PRIVATE KEY", as @pulumi/tls's privateKeyPem for ECDSA). */
export function newPrivateKey(): string {
    return openssl(() => ["ecparam", "-name", "prime256v1", "-genkey", "-noout"]);
}

/** The X.509 extensions of a certificate: basic constraints, key usages and subject alternative names. */
function extensions(
    uses: readonly string[],
    isCa: boolean,
    ips: readonly string[] = [],
    dnsNames: readonly string[] = [],
): string {
    const lines = [`basicConstraints=critical,CA:${isCa ? "TRUE" : "FALSE"}`];
    const usage = uses.filter((use) => keyUses[use]).map((use) => keyUses[use]);
    const extended = uses.filter((use) => extendedUses[use]).map((use) => extendedUses[use]);
    if (usage.length) {
        lines.push(`keyUsage=critical,${usage.join(",")}`);
    }
    if (extended.length) {
        lines.push(`extendedKeyUsage=${extended.join(",")}`);
    }
    const names = [...ips.map((ip) => `IP:${ip}`), ...dnsNames.map((name) => `DNS:${name}`)];
    if (names.length) {
        lines.push(`subjectAltName=${names.join(",")}`);
    }
    return lines.join("\n") + "\n";
}

const days = (hours: number) => String(Math.max(1, Math.ceil(hours / 24)));

/** A self-signed CA certificate for `keyPem`. */
export function selfSignedCa(keyPem: string, commonName: string, validityHours: number, uses: readonly string[]): string {
    return openssl(
        () => [
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            `/CN=${commonName}`,
            "-days",
            days(validityHours),
            "-extensions",
            "v3",
            "-config",
            "ext.cnf",
        ],
        {
            "ca.key": keyPem,
            "ext.cnf": `[req]\ndistinguished_name=dn\n[dn]\n[v3]\n${extensions(uses, true)}subjectKeyIdentifier=hash\n`,
        },
    );
}

/** A certificate request for `keyPem`, naming `ips` and `dnsNames` (the CA copies them into the certificate). */
export function certRequest(keyPem: string, commonName: string, ips: readonly string[], dnsNames: readonly string[]): string {
    const names = [...ips.map((ip) => `IP:${ip}`), ...dnsNames.map((name) => `DNS:${name}`)].join(",");
    return openssl(
        () => [
            "req",
            "-new",
            "-key",
            "node.key",
            "-subj",
            `/CN=${commonName}`,
            ...(names ? ["-addext", `subjectAltName=${names}`] : []),
        ],
        {
            "node.key": keyPem,
        },
    );
}

/** The CA's signature on a request: a certificate for `uses`, with the names the request asks for. */
export function signCertificate(
    requestPem: string,
    caCertPem: string,
    caKeyPem: string,
    validityHours: number,
    uses: readonly string[],
): string {
    const serial = `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffffff).toString(16)}`;
    return openssl(
        () => [
            "x509",
            "-req",
            "-in",
            "node.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-set_serial",
            serial,
            "-days",
            days(validityHours),
            "-copy_extensions",
            "copy",
            "-extfile",
            "ext.cnf",
        ],
        { "node.csr": requestPem, "ca.crt": caCertPem, "ca.key": caKeyPem, "ext.cnf": extensions(uses, false) },
    );
}

/**
 * The material the program's @pulumi/tls resources would make for `settings` (components/tls.ts), made here: a CA,
 * a pair for every node with the same names and uses, one for the exporters and one for a client.
 */
export function makeClusterPem(settings: Settings): ClusterPem & { client: KeyPair } {
    const hours = settings.tls.validityHours;
    const caKey = newPrivateKey();
    const ca = selfSignedCa(caKey, "redis-sentinel-docker CA", hours, caCertificateUses);
    const pair = (commonName: string, names: { ips: string[]; dnsNames: string[] }, uses: readonly string[]): KeyPair => {
        const key = newPrivateKey();
        return { key, cert: signCertificate(certRequest(key, commonName, names.ips, names.dnsNames), ca, caKey, hours, uses) };
    };
    const { redisNodes, sentinelNodes } = settings.topology;
    const none = { ips: [], dnsNames: [] };
    return {
        ca,
        nodes: Object.fromEntries(
            [...redisNodes, ...sentinelNodes].map((node) => [
                node.name,
                pair(node.name, nodeCertificateNames(node), nodeCertificateUses),
            ]),
        ),
        metrics: pair("redis-sentinel-docker metrics", none, clientCertificateUses),
        client: pair("redis-sentinel-docker client", none, clientCertificateUses),
    };
}
