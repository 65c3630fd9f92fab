/**
 * The ACL matrix (test/support/aclMatrix.ts) on real processes of Debian's Redis 7.0: every principal against Redis
 * and against Sentinel, twice: in plain text, and with TLS on every link. The other engines run it in
 * test/e2e/engines.test.ts.
 */
import { redisAclProfiles, sentinelAclProfiles } from "../../acl";
import { loadSettings } from "../../settings";
import {
    aclProbes,
    appUser,
    describeProbe,
    leastPrivilege,
    masterName,
    matrixCoverage,
    outcome,
    Target,
} from "../support/aclMatrix";
import { LocalCluster, startLocalCluster } from "../harness/localCluster";

const probes = aclProbes();

// The whole matrix runs in plain text and again with TLS on every link (tlsEnabled): TLS must change no right.
describe.each([
    ["plain text", undefined],
    ["TLS", {}],
] as const)("ACL matrix on real Redis and Sentinel processes (%s)", (_, tls) => {
    let cluster: LocalCluster;

    beforeAll(async () => {
        cluster = await startLocalCluster({ settings: { appUser, masterName }, tls });
    }, 30000);

    afterAll(async () => {
        await cluster?.stop();
    });

    test("the matrix is large enough and covers every principal on both kinds of instance", () => {
        const coverage = matrixCoverage(probes);
        expect(coverage.size).toBeGreaterThanOrEqual(40);
        expect(coverage.uncovered).toEqual([]);
        expect(coverage.defaultOn).toEqual(["redis", "sentinel"]);
    });

    const servers = () => ({
        connect: (target: Target, user: string | null) =>
            cluster.connect((target === "redis" ? cluster.redisNodes[0] : cluster.sentinelNodes[0]).name, user),
        passwordOf: (user: string) => cluster.passwordOf(user),
    });

    test("least privilege on Redis 7.0's own command table: no restricted user may run a command its profile does not grant, the application user no admin or dangerous one but INFO and ROLE", async () => {
        const profiles = {
            redis: redisAclProfiles({ name: appUser, rules: loadSettings(() => undefined).appUser.rules }, []),
            sentinel: sentinelAclProfiles,
        };
        for (const kind of ["redis", "sentinel"] as const) {
            const name = (kind === "redis" ? cluster.redisNodes[0] : cluster.sentinelNodes[0]).name;
            const report = await cluster.withConnection(name, (admin) => leastPrivilege(admin, kind, profiles[kind], appUser));
            expect(report.beyondProfile).toEqual([]);
            expect(report.appPrivileged).toEqual(kind === "redis" ? ["info", "role"] : []);
            expect(report.unclear.length).toBeLessThan(report.tableSize / 10);
        }
    });

    test.each(probes.map((probe) => [describeProbe(probe), probe] as const))("%s", async (_name, probe) => {
        expect(await outcome(servers(), probe)).toBe(probe.expect);
    });
});
