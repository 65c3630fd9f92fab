/**
 * One local cluster for a whole jest file: started before its first test, stopped after its last.
 *
 *     const cluster = localClusterPerSuite();
 *     test("...", () => { const [master] = cluster().redisNodes; ... });
 */
import { LocalCluster, LocalClusterOptions, startLocalCluster } from "./localCluster";

export function localClusterPerSuite(options: LocalClusterOptions = {}, startTimeoutMs = 30000): () => LocalCluster {
    let cluster: LocalCluster | undefined;
    beforeAll(async () => {
        cluster = await startLocalCluster(options);
    }, startTimeoutMs);
    // Stopping waits up to 3 s for each server to save and exit (and 3 s more after SIGKILL).
    afterAll(async () => {
        await cluster?.stop();
    }, 20000);
    return () => {
        if (cluster === undefined) {
            throw new Error("the local cluster is not running (its start failed, or a test ran outside the suite)");
        }
        return cluster;
    };
}
