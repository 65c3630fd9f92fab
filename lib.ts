/**
 * The library: the cluster component and what it needs, for use in another Pulumi program. Importing it declares
 * nothing; `index.ts` is this project's own stack, a thin program on top of it.
 *
 *     import { RedisSentinelCluster, clusterSettings } from "<path to this project>/lib";
 *     const cache = new RedisSentinelCluster("cache", {
 *         settings: clusterSettings({ networkName: "cachenet", subnet: "192.168.60.0/24", gateway: "192.168.60.1", ... }),
 *     });
 */
import { loadSettings, overridingReader, Settings } from "./settings";

export * from "./components";
export * from "./settings";
export { Principal, principals } from "./acl";

/**
 * Validated settings: this project's defaults (Pulumi.yaml's `config:` block) with `overrides` on top, each value
 * written as `pulumi config set` would store it (a string; JSON for lists). Throws, naming the key and the value,
 * on a bad one.
 */
export function clusterSettings(overrides: Readonly<Record<string, string>> = {}): Settings {
    return loadSettings(overridingReader(overrides));
}
