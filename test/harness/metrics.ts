/**
 * Reads a Prometheus exporter's text exposition, for the metrics tests (integration and e2e): one sample per line,
 * `name{label="value",...} number`; comments and blank lines skipped.
 */

export interface Sample {
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly value: number;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
    return text
        .split("\n")
        .filter((line) => line.trim() !== "" && !line.startsWith("#"))
        .map((line) => {
            const match = sampleLine.exec(line.trim());
            if (!match) {
                throw new Error(`not a Prometheus sample line: ${line}`);
            }
            const labels = Object.fromEntries(
                [...(match[2] ?? "").matchAll(labelPair)].map(([, key, value]) => [key, value.replace(/\\(.)/g, "$1")]),
            );
            return { name: match[1], labels, value: Number(match[3]) };
        });
}

/** GETs `url` (an exporter's /metrics) within 5 s and parses it; the raw text comes too. */
export async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
    const reply = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!reply.ok) {
        throw new Error(`${url} answered ${reply.status}`);
    }
    const text = await reply.text();
    return { text, samples: parseMetrics(text) };
}

/** The samples named `name` whose labels include `labels`. */
export const samplesOf = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample[] =>
    samples.filter(
        (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );

/**
 * What an exporter says about its node: `redis_up`; for a Redis node the role of `redis_instance_info` (`master` or
 * `slave`, as ROLE answers); for a Sentinel the master address of its `ok` master status, if any.
 */
export function exporterView(samples: readonly Sample[]): { up: number; role?: string; sentinelMaster?: string } {
    const up = samplesOf(samples, "redis_up")[0]?.value ?? Number.NaN;
    const role = samplesOf(samples, "redis_instance_info")[0]?.labels.role || undefined;
    const status = samplesOf(samples, "redis_sentinel_master_status", { master_status: "ok" }).find((s) => s.value === 1);
    return { up, role, sentinelMaster: status?.labels.master_address };
}
