/**
 * npm run render -- --out DIR [--stack NAME] [--set key=value ...]
 *
 * Writes every file the program would upload, for every container, through the program's own rendering code.
 * Settings: Pulumi.yaml's defaults, then the stack file's plain values, then --set. Passwords: the environment
 * (REDIS_SENTINEL_<PRINCIPAL>_PASSWORD, e.g. REDIS_SENTINEL_ADMIN_PASSWORD) or generated; written only to
 * DIR/secrets.json, never printed. With tlsEnabled, the certificates are made with openssl (tools/lib/pki.ts), as
 * the program's @pulumi/tls resources would make them: a CA of its own for this rendering, not the stack's.
 */
import * as path from "path";
import { parseArgs } from "util";
import { principals } from "../acl";
import { completePasswords, renderCluster, writeRenderedCluster } from "../render";
import { makeClusterPem } from "../tools/lib/pki";
import { loadPasswordOverrides, loadSettings, overridingReader, passwordKey, stackFileReader } from "../settings";

const usage = "usage: npm run render -- --out DIR [--stack NAME] [--set key=value ...]";

function main(): void {
    const { values } = parseArgs({
        options: {
            out: { type: "string" },
            stack: { type: "string" },
            set: { type: "string", multiple: true, default: [] },
        },
    });
    if (!values.out) {
        throw new Error(`--out is required\n${usage}`);
    }
    const explicit = Object.fromEntries(
        (values.set ?? []).map((pair) => {
            const at = pair.indexOf("=");
            if (at < 1) {
                throw new Error(`--set ${JSON.stringify(pair)} is not of the form key=value`);
            }
            return [pair.slice(0, at), pair.slice(at + 1)];
        }),
    );
    const stackFile = values.stack ? path.join(__dirname, "..", `Pulumi.${values.stack}.yaml`) : undefined;
    const settings = loadSettings(overridingReader(explicit, stackFile ? stackFileReader(stackFile) : undefined));

    const fromEnvironment = Object.fromEntries(
        principals.map((principal) => [
            passwordKey(principal),
            process.env[`REDIS_SENTINEL_${principal.toUpperCase()}_PASSWORD`],
        ]),
    );
    const passwords = completePasswords(loadPasswordOverrides((key) => fromEnvironment[key]));

    const files = renderCluster(settings, passwords, settings.tls.enabled ? makeClusterPem(settings) : undefined);
    const written = writeRenderedCluster(values.out, files, passwords);
    console.log(`wrote ${written.length} files for ${Object.keys(files).length} containers to ${values.out}`);
}

try {
    main();
} catch (error) {
    console.error(`render: ${(error as Error).message}`);
    process.exit(1);
}
