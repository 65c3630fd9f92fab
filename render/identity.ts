import { createHash } from "crypto";
import { NodeAddress } from "../settings/types";

/**
 * A Sentinel's run id, derived from its identity so that re-rendering gives the same bytes and a replaced container
 * is the same Sentinel to its peers. `npm run status` derives it too, to tell declared peers from strangers.
 */
export function sentinelMyid(masterName: string, node: NodeAddress): string {
    return createHash("sha1").update(`${masterName}/${node.name}/${node.ip}:${node.port}`).digest("hex");
}
