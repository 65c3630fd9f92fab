/**
 * Password rotation (issue 22): each principal's user accepts two passwords, and `<principal>PasswordRotation` moves
 * logins onto the second (an odd step) and then drops the first and adds a new standby (the even step after it).
 * Checked on the program's rendered files, step after step as `pulumi up` would see them: a container of one step and
 * a container of the next always accept each other's logins (so a rolling replacement never locks a node out), and
 * the password given up is accepted nowhere after the second step.
 */
import { createHash, X509Certificate } from "crypto";
import { Principal, principals } from "../../acl";
import { rotationGenerations } from "../../render/passwords";
import { ProgramRun, runProgram } from "../support/pulumiProgram";

const loadIndex = () => {
    let exports: Record<string, unknown> = {};
    jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load per run is the point
        exports = require("../../index");
    });
    return exports;
};

const container = "docker:index/container:Container";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The content of the uploaded file of `node` whose path ends with `suffix`. */
function uploaded(run: ProgramRun, node: string, suffix: string): string {
    const uploads = run.one(container, node).inputs.uploads as { file: string; content: string }[];
    const found = uploads.find((upload) => upload.file.endsWith(suffix));
    if (!found) {
        throw new Error(`${node} has no upload ending with ${suffix}: ${uploads.map((u) => u.file).join(", ")}`);
    }
    return found.content;
}

/** The SHA-256 hashes a user accepts in a node's ACL lines (users.acl of a Redis node, sentinel.conf of a Sentinel). */
function acceptedHashes(run: ProgramRun, node: string, user: string): string[] {
    const file = node.startsWith("sentinel") ? uploaded(run, node, "sentinel.conf") : uploaded(run, node, "users.acl");
    const line = file.split("\n").find((text) => text.startsWith(`user ${user} `));
    if (!line) {
        throw new Error(`${node} has no ACL line for ${user}`);
    }
    return [...line.matchAll(/ #([0-9a-f]{64})/g)].map((match) => match[1]);
}

/** Every password the nodes log in with, by principal, as the rendered files carry them. */
function nodeLogins(run: ProgramRun): Partial<Record<Principal, string>> {
    const field = (text: string, pattern: RegExp) => pattern.exec(text)?.[1];
    const redisConf = uploaded(run, "redis2", "redis.conf");
    const sentinelConf = uploaded(run, "sentinel1", "sentinel.conf");
    const redisEnv = uploaded(run, "redis1", "node.env");
    return {
        replication: field(redisConf, /^masterauth (\S+)$/m),
        sentinelredis: field(sentinelConf, /^sentinel auth-pass \S+ (\S+)$/m),
        sentinelsentinel: field(sentinelConf, /^sentinel sentinel-pass (\S+)$/m),
        clientsentinel: field(redisEnv, /^SENTINEL_PASSWORD=(\S+)$/m),
        failover: field(redisEnv, /^FAILOVER_PASSWORD=(\S+)$/m),
    };
}

/** The nodes whose ACL holds `principal`'s user: Redis nodes, Sentinels, or both. */
function acceptors(run: ProgramRun, principal: Principal): string[] {
    const user = principal === "app" ? "app" : principal;
    return ["redis1", "redis2", "redis3", "sentinel1", "sentinel2", "sentinel3"].filter((node) => {
        try {
            return acceptedHashes(run, node, user).length > 0;
        } catch {
            return false;
        }
    });
}

const steps = (principal: Principal, step: number) => ({ [`${principal}PasswordRotation`]: String(step) });

describe("rotationGenerations", () => {
    test.each([
        [0, [0, 1], 0, false],
        [1, [0, 1], 1, true],
        [2, [1, 2], 1, false],
        [3, [1, 2], 2, true],
        [4, [2, 3], 2, false],
    ])("step %i accepts generations %j and logs in with %i (in progress: %s)", (step, accepted, login, inProgress) => {
        expect(rotationGenerations(step)).toEqual({ accepted, login, inProgress });
    });

    test("from any step to the next, each side accepts what the other logs in with", () => {
        for (let step = 0; step < 20; step++) {
            const [before, after] = [rotationGenerations(step), rotationGenerations(step + 1)];
            expect(after.accepted).toContain(before.login);
            expect(before.accepted).toContain(after.login);
        }
    });
});

describe("rotating every principal's password with two pulumi ups", () => {
    const rotateAll = (step: number) => Object.assign({}, ...principals.map((principal) => steps(principal, step)));
    let runs: ProgramRun[];
    beforeAll(async () => {
        const start = await runProgram({}, loadIndex);
        const first = await runProgram(rotateAll(1), loadIndex, [], {}, start);
        const second = await runProgram(rotateAll(2), loadIndex, [], {}, first);
        runs = [start, first, second];
    }, 60_000);

    const loginsOf = (run: ProgramRun) => run.outputs.passwords as Record<Principal, string>;

    test("every user accepts exactly two passwords at every step, one of them the login the stack outputs", () => {
        for (const run of runs) {
            for (const principal of principals) {
                for (const node of acceptors(run, principal)) {
                    const hashes = acceptedHashes(run, node, principal);
                    expect({ principal, node, count: hashes.length }).toEqual({ principal, node, count: 2 });
                    expect(hashes).toContain(sha256(loginsOf(run)[principal]));
                }
            }
        }
    });

    test("the nodes log in with the password the stack outputs", () => {
        for (const run of runs) {
            const logins = nodeLogins(run);
            for (const [principal, password] of Object.entries(logins)) {
                expect({ principal, same: password === loginsOf(run)[principal as Principal] }).toEqual({
                    principal,
                    same: true,
                });
            }
        }
    });

    test("a container of one step accepts what a container of the next logs in with, and the other way round", () => {
        for (const [before, after] of [
            [runs[0], runs[1]],
            [runs[1], runs[2]],
        ]) {
            for (const principal of principals) {
                for (const node of acceptors(before, principal)) {
                    expect(acceptedHashes(before, node, principal)).toContain(sha256(loginsOf(after)[principal]));
                    expect(acceptedHashes(after, node, principal)).toContain(sha256(loginsOf(before)[principal]));
                }
            }
        }
    });

    test("the first up moves every login onto the standby; the second drops the old password everywhere", () => {
        const [start, first, second] = runs.map(loginsOf);
        for (const principal of principals) {
            expect({ principal, changed: first[principal] !== start[principal] }).toEqual({ principal, changed: true });
            expect(second[principal]).toBe(first[principal]);
            for (const node of acceptors(runs[2], principal)) {
                expect(acceptedHashes(runs[2], node, principal)).not.toContain(sha256(start[principal]));
            }
        }
        // The standby of the first up is the password of the second, and a new standby is generated.
        expect(runs[2].byType("random:index/randomPassword:RandomPassword").map((r) => r.name)).toContain("app-password-2");
        expect(runs[2].byType("random:index/randomPassword:RandomPassword").map((r) => r.name)).not.toContain("app-password");
    });

    test("the stack outputs where each rotation stands, with no password in it", () => {
        expect(runs.map((run) => (run.outputs.passwordRotation as Record<string, unknown>).replication)).toEqual([
            { step: 0, inProgress: false },
            { step: 1, inProgress: true },
            { step: 2, inProgress: false },
        ]);
        expect([...runs[1].secretOutputs]).toEqual(["passwords"]);
    });
});

describe("rotating to a password of the stack's own", () => {
    test("the next password is accepted as a standby, every login moves to it at the odd step", async () => {
        const current = "Own-current-app-password-1";
        const next = "Own-next-app-password-2";
        const start = await runProgram({ appPassword: current, appNextPassword: next }, loadIndex, [
            "appPassword",
            "appNextPassword",
        ]);
        expect(acceptedHashes(start, "redis1", "app").sort()).toEqual([sha256(current), sha256(next)].sort());
        expect((start.outputs.passwords as Record<string, string>).app).toBe(current);
        const rotating = await runProgram(
            { appPassword: current, appNextPassword: next, ...steps("app", 1) },
            loadIndex,
            ["appPassword", "appNextPassword"],
            {},
            start,
        );
        expect((rotating.outputs.passwords as Record<string, string>).app).toBe(next);
        // Rotating the app user changes nothing the nodes use: its ACL line stays, no container is replaced.
        expect(acceptedHashes(rotating, "redis1", "app")).toEqual(acceptedHashes(start, "redis1", "app"));
        expect(rotating.byType(container).map((r) => JSON.stringify(r.inputs))).toEqual(
            start.byType(container).map((r) => JSON.stringify(r.inputs)),
        );
    }, 60_000);
});

describe("a bad rotation step", () => {
    test.each(["-1", "1.5", "two"])(
        "replicationPasswordRotation %s is refused, naming the key, before any resource",
        async (value) => {
            await expect(runProgram({ replicationPasswordRotation: value }, loadIndex)).rejects.toMatchObject({
                message: expect.stringContaining("`replicationPasswordRotation`"),
                declaredResources: 0,
            });
        },
    );
});

describe("rotating the CA with two pulumi ups", () => {
    const tlsConfig = (step: number) => ({ tlsEnabled: "true", tlsClientCertificate: "true", tlsCaRotation: String(step) });
    /** The certificates of a PEM bundle. */
    const certificates = (bundle: string) =>
        (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map(
            (pem) => new X509Certificate(pem),
        );
    const trusts = (bundle: string, certificate: string) =>
        certificates(bundle).some(
            (ca) => new X509Certificate(certificate).checkIssued(ca) && new X509Certificate(certificate).verify(ca.publicKey),
        );
    let runs: ProgramRun[];
    beforeAll(async () => {
        const start = await runProgram(tlsConfig(0), loadIndex);
        const first = await runProgram(tlsConfig(1), loadIndex, [], {}, start);
        const second = await runProgram(tlsConfig(2), loadIndex, [], {}, first);
        runs = [start, first, second];
    }, 60_000);

    test("every node trusts two CAs, and its own certificate comes from one of them", () => {
        for (const run of runs) {
            for (const node of ["redis1", "sentinel2"]) {
                const bundle = uploaded(run, node, "ca.crt");
                expect(certificates(bundle)).toHaveLength(2);
                expect(trusts(bundle, uploaded(run, node, "node.crt"))).toBe(true);
            }
            expect(run.outputs.tlsCaCertificate).toBe(uploaded(run, "redis1", "ca.crt"));
        }
    });

    test("a container of one step trusts the certificate of a container of the next, and the other way round", () => {
        for (const [before, after] of [
            [runs[0], runs[1]],
            [runs[1], runs[2]],
        ]) {
            expect(trusts(uploaded(before, "redis1", "ca.crt"), uploaded(after, "redis2", "node.crt"))).toBe(true);
            expect(trusts(uploaded(after, "redis1", "ca.crt"), uploaded(before, "redis2", "node.crt"))).toBe(true);
            // A client of one step is trusted by the nodes of the next.
            expect(trusts(uploaded(after, "redis1", "ca.crt"), before.outputs.tlsClientCertificate as string)).toBe(true);
        }
    });

    test("the first up issues every certificate from the standby CA; the second drops the old CA", () => {
        const [start, first, second] = runs.map((run) => uploaded(run, "redis1", "node.crt"));
        expect(first).not.toBe(start);
        expect(trusts(uploaded(runs[2], "redis1", "ca.crt"), start)).toBe(false);
        expect(trusts(uploaded(runs[2], "redis1", "ca.crt"), second)).toBe(true);
        expect(runs.map((run) => run.outputs.tlsCaRotation)).toEqual([
            { step: 0, inProgress: false },
            { step: 1, inProgress: true },
            { step: 2, inProgress: false },
        ]);
    });
});
