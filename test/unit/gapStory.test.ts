import { ContainerStep } from "../docker/deployer";
import { loggedAt, longestGapStory } from "../e2e/support";

// The lines a write gap is explained by: the entrypoint's own (image/entrypoint.sh, log) and the server's.
const at = (clock: string) => Date.parse(`2026-12-05T${clock}Z`);

describe("loggedAt", () => {
    it("reads the server's and the Sentinel's own time, to the millisecond", () => {
        expect(loggedAt("45:X 05 Dec 2026 11:12:09.728 # +promoted-slave slave 1.2.3.4:6379", 0)).toBe(at("11:12:09.728"));
        expect(loggedAt("7:M 31 Jan 2027 00:00:00.001 * Ready to accept connections", 0)).toBe(
            Date.parse("2027-01-31T00:00:00.001Z"),
        );
    });

    it("reads the entrypoint's time of day on the day it is read, and the day before across midnight", () => {
        expect(loggedAt("entrypoint[redis1] 11:12:08.839: stopping as master", at("11:12:10.000"))).toBe(at("11:12:08.839"));
        expect(loggedAt("entrypoint[redis1] 23:59:59.900: handed over", Date.parse("2026-12-06T00:00:00.100Z"))).toBe(
            at("23:59:59.900"),
        );
    });

    it("has no time for a line without one", () => {
        expect(loggedAt("Redis version=7.0.15", at("11:00:00.000"))).toBeUndefined();
        expect(loggedAt("entrypoint[redis1]: no time here", at("11:00:00.000"))).toBeUndefined();
    });
});

describe("longestGapStory", () => {
    const step = (name: string, startedAt: number, doneAt: number, lastWords: string[]): ContainerStep => ({
        name,
        op: "replace",
        startedAt,
        doneAt,
        lastWords: lastWords.join("\n"),
    });

    it("names the replacement the gap began in and tells every container's lines from a second before it, in time order", () => {
        const steps = [
            step("redis1", at("11:12:08.000"), at("11:12:15.000"), [
                "entrypoint[redis1] 11:12:06.000: too early to matter",
                "entrypoint[redis1] 11:12:08.839: stopping as master",
                "entrypoint[redis1] 11:12:09.870: handed over; shutting down",
                "49:M 05 Dec 2026 11:12:09.938 # User requested shutdown...",
            ]),
            step("sentinel3", at("11:12:20.000"), at("11:12:25.000"), [
                "45:X 05 Dec 2026 11:12:09.728 # +promoted-slave slave 1.2.3.4:6381",
                "45:X 05 Dec 2026 11:12:12.000 # after the gap",
            ]),
        ];
        const confirmed = ["11:12:08.700", "11:12:08.736", "11:12:09.977", "11:12:10.000"].map((clock) => ({ at: at(clock) }));
        expect(longestGapStory(confirmed, steps, at("11:12:00.000"))).toEqual({
            gap: 1241,
            from: 8736,
            step: "redis1",
            story: [
                "last confirmed write before the gap 11:12:08.736, first after it 11:12:09.977",
                "redis1| entrypoint[redis1] 11:12:08.839: stopping as master",
                "sentinel3| 45:X 05 Dec 2026 11:12:09.728 # +promoted-slave slave 1.2.3.4:6381",
                "redis1| entrypoint[redis1] 11:12:09.870: handed over; shutting down",
                "redis1| 49:M 05 Dec 2026 11:12:09.938 # User requested shutdown...",
            ],
        });
    });

    it("has no story without two confirmed writes", () => {
        expect(longestGapStory([{ at: 1 }], [], 0)).toEqual({ gap: 0, story: [] });
    });
});
