/**
 * The Prometheus exporters on real processes: Debian's prometheus-redis-exporter, run with the program's rendered
 * exporter.env, logs in to every Redis node and Sentinel as the `metrics` user, reports the role that ROLE gives
 * before and after a failover, needs no right the profile does not grant, and leaks no password.
 */
import * as fs from "fs";
import * as path from "path";
import { exporterView, scrape } from "../harness/metrics";
import { localClusterPerSuite } from "../harness/suite";
import { pollUntil } from "../../tools/lib/poll";

describe("Prometheus exporters on real processes", () => {
    const cluster = localClusterPerSuite({ metrics: true }, 45_000);

    /** What each exporter says now, by node name. */
    const views = async () =>
        Object.fromEntries(
            await Promise.all(
                cluster().exporters.map(
                    async (exporter) => [exporter.node, exporterView((await scrape(exporter.url)).samples)] as const,
                ),
            ),
        );
    /** What ROLE says of each Redis node: "master" or "slave". */
    const roles = async () =>
        Object.fromEntries(
            await Promise.all(
                cluster().redisNodes.map(
                    async (node) =>
                        [
                            node.name,
                            await cluster().withConnection(
                                node.name,
                                async (client) => ((await client.call("ROLE")) as string[])[0],
                            ),
                        ] as const,
                ),
            ),
        );
    /** Every exporter agrees with ROLE and names `master` from the Sentinels; the mismatches otherwise. */
    const agreement = async (master: string) => {
        const [seen, actual] = await Promise.all([views(), roles()]);
        const wrong = cluster().exporters.filter(({ node, kind }) => {
            const view = seen[node];
            return view.up !== 1 || (kind === "redis" ? view.role !== actual[node] : view.sentinelMaster !== master);
        });
        return { seen, actual, wrong: wrong.map((exporter) => exporter.node) };
    };
    const address = (name: string) => `${cluster().node(name).ip}:${cluster().node(name).port}`;

    test("every exporter reports redis_up 1, and the role ROLE gives or, on a Sentinel, the master", async () => {
        expect(cluster().exporters.map((exporter) => exporter.node)).toEqual(cluster().nodes.map((node) => node.name));
        const { seen, actual, wrong } = await agreement(address("redis1"));
        expect({ wrong, seen, actual }).toMatchObject({ wrong: [] });
        expect(Object.values(actual).sort()).toEqual(["master", "slave", "slave"]);
    });

    test("the metrics user has every right the exporter uses: the only refusal in any ACL LOG is SLOWLOG GET, on Redis", async () => {
        for (const exporter of cluster().exporters) {
            await scrape(exporter.url);
        }
        const refused = await Promise.all(
            cluster().nodes.map(async (node) => {
                const log = (await cluster().withConnection(node.name, (client) =>
                    client.call("ACL", "LOG", "128"),
                )) as unknown[][];
                const entries = log.map((flat) =>
                    Object.fromEntries(flat.flatMap((_, i) => (i % 2 ? [] : [[flat[i], flat[i + 1]]]))),
                );
                const objects = entries
                    .filter((entry) => entry.username === "metrics")
                    .map((entry) => `${entry.reason} ${entry.object}`);
                return [node.name, [...new Set(objects)].sort()] as const;
            }),
        );
        expect(Object.fromEntries(refused)).toEqual(
            Object.fromEntries(cluster().nodes.map((node) => [node.name, node.kind === "redis" ? ["command slowlog|get"] : []])),
        );
    });

    test("no scrape carries a password, and no exporter failed a scrape", async () => {
        const secrets = Object.values(cluster().passwords);
        for (const exporter of cluster().exporters) {
            const { text, samples } = await scrape(exporter.url);
            expect(secrets.filter((secret) => text.includes(secret))).toEqual([]);
            expect(samples.filter((sample) => sample.name === "redis_exporter_last_scrape_error")).toEqual([
                { name: "redis_exporter_last_scrape_error", labels: { err: "" }, value: 0 },
            ]);
        }
    });

    test("serves every series the README's Metrics section names", async () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
        const section = readme.slice(readme.indexOf("## Metrics"), readme.indexOf("\n## ", readme.indexOf("## Metrics") + 1));
        const documented = [...section.matchAll(/^\| `(redis_[a-z_]+)/gm)].map((match) => match[1]);
        const documentedPairs = [...section.matchAll(/^\| `redis_[a-z_]+(?:\{[^}]*\})?`, `(redis_[a-z_]+)`/gm)].map((m) => m[1]);
        expect(documented.length).toBeGreaterThanOrEqual(8);
        const served = new Set<string>();
        for (const exporter of cluster().exporters) {
            (await scrape(exporter.url)).samples.forEach((sample) => served.add(sample.name));
        }
        expect([...documented, ...documentedPairs].filter((name) => !served.has(name))).toEqual([]);
    });

    test("after a failover every exporter follows: the new master, the old one a replica, the Sentinels the new address", async () => {
        const old = address("redis1");
        await cluster().withConnection(cluster().sentinelNodes[0].name, (client) =>
            client.call("SENTINEL", "FAILOVER", cluster().masterName),
        );
        const master = await pollUntil("every Sentinel to name a new master", () => cluster().newMasterAgreed(old), {
            timeoutMs: 30_000,
            intervalMs: 200,
        });
        let last: Awaited<ReturnType<typeof agreement>> | undefined;
        const started = Date.now();
        const agreed = (until: (state: NonNullable<typeof last>) => boolean) => async () => {
            last = await agreement(master);
            return last.wrong.length === 0 && until(last) ? Date.now() - started : undefined;
        };
        const explain = (error: Error) => {
            throw new Error(`${error.message}: ${JSON.stringify(last)}`);
        };
        const poll = { timeoutMs: 30_000, intervalMs: 250 };
        const followed = await pollUntil(
            "every exporter to agree with ROLE and the Sentinels",
            agreed(() => true),
            poll,
        ).catch(explain);
        expect(last!.seen[cluster().nodeAt(master).name].role).toBe("master");
        // The Sentinels reconfigure the old master when they next read its INFO (every 10 s); until then it still
        // says master, and its exporter with it (README, Metrics).
        const demoted = await pollUntil(
            "the old master's exporter to report a replica",
            agreed((state) => state.seen.redis1.role === "slave"),
            poll,
        ).catch(explain);
        console.log(
            `metrics: after the Sentinels named ${master}, the exporters agreed with ROLE in ${followed} ms; the old master reported slave after ${demoted} ms`,
        );
    }, 70_000);
});
