/**
 * Durations in the form Go's time.Duration.String() prints them ("2s", "1m0s", "1h0m0s", "500ms"). The Docker
 * provider reads a container's health check timings back in that form (resource_docker_container_funcs.go, Read:
 * `Healthcheck.StartPeriod.String()`) and its schema compares them as plain strings, so an input written any other
 * way ("60s") differs from the state on every refresh, and with `replaceOnChanges: ["healthcheck"]` every `pulumi
 * up` would replace the container.
 */
export function goDuration(milliseconds: number): string {
    if (!Number.isInteger(milliseconds) || milliseconds < 0) {
        throw new Error(`goDuration: ${milliseconds} is not a whole, non-negative number of milliseconds`);
    }
    if (milliseconds < 1000) {
        return milliseconds === 0 ? "0s" : `${milliseconds}ms`;
    }
    const hours = Math.floor(milliseconds / 3_600_000);
    const minutes = Math.floor((milliseconds % 3_600_000) / 60_000);
    // Whole seconds print without a fraction, others with as many digits as they need ("1.5s").
    const seconds = `${(milliseconds % 60_000) / 1000}s`;
    if (hours > 0) {
        return `${hours}h${minutes}m${seconds}`;
    }
    return minutes > 0 ? `${minutes}m${seconds}` : seconds;
}

const unitNanoseconds: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Parses a Go duration ("2s", "1m30s", "500ms") as the provider does (time.ParseDuration); returns nanoseconds. */
export function parseGoDuration(text: string): number {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((part) => part[0]).join("") !== text) {
        throw new Error(`not a Go duration: ${JSON.stringify(text)}`);
    }
    return Math.round(parts.reduce((total, [, value, unit]) => total + Number(value) * unitNanoseconds[unit], 0));
}
