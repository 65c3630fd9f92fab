/** A bar chart of the median write outage per configuration, one dot per repetition, as a self-contained SVG. */
export interface ChartSeries {
    readonly label: string;
    readonly values: readonly number[];
}

const median = (values: readonly number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
export { median };

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A self-contained SVG document: white background, the title centred on top, then `body`. */
const svgDocument = (width: number, height: number, fontSize: number, title: string, body: readonly string[]) =>
    [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="${fontSize}">`,
        `<rect width="100%" height="100%" fill="white"/>`,
        `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
        ...body,
        `</svg>`,
        "",
    ].join("\n");

export function outageChart(title: string, series: readonly ChartSeries[]): string {
    const width = 760;
    const barHeight = 34;
    const gap = 18;
    const left = 300;
    const right = 90;
    const top = 50;
    const height = top + series.length * (barHeight + gap) + 40;
    const max = Math.max(...series.flatMap((s) => s.values), 1);
    const scale = (value: number) => ((width - left - right) * value) / max;
    const rows = series.map((s, i) => {
        const y = top + i * (barHeight + gap);
        const m = median(s.values);
        const dots = s.values
            .map((v) => `<circle cx="${(left + scale(v)).toFixed(1)}" cy="${y + barHeight / 2}" r="3" fill="#222"/>`)
            .join("");
        return [
            `<text x="${left - 10}" y="${y + barHeight / 2 + 5}" text-anchor="end">${escape(s.label)}</text>`,
            `<rect x="${left}" y="${y}" width="${scale(m).toFixed(1)}" height="${barHeight}" fill="${i === 0 ? "#2b7a3d" : "#9aa5b1"}"/>`,
            dots,
            `<text x="${(left + scale(m) + 8).toFixed(1)}" y="${y + barHeight / 2 + 5}">${(m / 1000).toFixed(1)} s</text>`,
        ].join("");
    });
    return svgDocument(width, height, 13, title, [
        ...rows,
        `<text x="${left}" y="${height - 12}" fill="#555">bar: median; dots: each repetition</text>`,
    ]);
}

/** The value below which a fraction `q` of `values` lies (nearest rank); 0 for no values. */
export function quantile(values: readonly number[], q: number): number {
    if (values.length === 0) {
        return 0;
    }
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const palette = ["#2b7a3d", "#1f5fa8", "#b5542a", "#7b3fa0", "#444"];

/**
 * A latency tail as a self-contained SVG: for each series, the fraction of its values above x, both axes logarithmic
 * (x from 0.1 ms to 10 s), with a dashed line at each marker (a candidate setting, in ms).
 */
export function latencyChart(
    title: string,
    series: readonly ChartSeries[],
    markers: readonly { label: string; at: number }[],
): string {
    const width = 760;
    const height = 420;
    const [left, right, top, bottom] = [70, 30, 50, 60];
    const xOf = (ms: number) => left + ((Math.log10(Math.max(ms, 0.1)) + 1) / 5) * (width - left - right);
    const floor = Math.min(...series.map((s) => 1 / Math.max(1, s.values.length)));
    const decades = Math.max(1, Math.ceil(-Math.log10(floor)));
    const yOf = (fraction: number) => top + (-Math.log10(Math.max(fraction, floor)) / decades) * (height - top - bottom);
    const lines = series.map((s, i) => {
        const sorted = [...s.values].sort((a, b) => a - b);
        // One point per pixel of change at most: tens of thousands of samples draw the same line as a few hundred.
        const points: string[] = [];
        sorted.forEach((v, k) => {
            const point = `${xOf(v).toFixed(0)},${yOf((sorted.length - k) / sorted.length).toFixed(0)}`;
            if (point !== points[points.length - 1] || k === sorted.length - 1) {
                points.push(point);
            }
        });
        const colour = palette[i % palette.length];
        return [
            `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points.join(" ")}"/>`,
            `<text x="${width - right - 150}" y="${top + 18 * i}" fill="${colour}">${escape(s.label)}</text>`,
        ].join("");
    });
    const xTicks = [0.1, 1, 10, 100, 1000, 10000].map(
        (ms) =>
            `<line x1="${xOf(ms)}" y1="${top}" x2="${xOf(ms)}" y2="${height - bottom}" stroke="#ddd"/><text x="${xOf(ms)}" y="${height - bottom + 18}" text-anchor="middle">${ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`}</text>`,
    );
    const yTicks = Array.from({ length: decades + 1 }, (_, d) => 10 ** -d)
        .filter((fraction) => fraction >= floor)
        .map(
            (fraction) =>
                `<line x1="${left}" y1="${yOf(fraction)}" x2="${width - right}" y2="${yOf(fraction)}" stroke="#eee"/><text x="${left - 8}" y="${yOf(fraction) + 4}" text-anchor="end">${fraction === 1 ? "1" : `1e-${-Math.log10(fraction)}`}</text>`,
        );
    const marks = markers.map(
        (m) =>
            `<line x1="${xOf(m.at)}" y1="${top}" x2="${xOf(m.at)}" y2="${height - bottom}" stroke="#c00" stroke-dasharray="4 3"/><text x="${xOf(m.at) + 3}" y="${height - bottom - 6}" fill="#c00" font-size="11">${escape(m.label)}</text>`,
    );
    return svgDocument(width, height, 13, title, [
        ...xTicks,
        ...yTicks,
        ...marks,
        ...lines,
        `<text x="${width / 2}" y="${height - 14}" text-anchor="middle" fill="#555">reply time (log); red: candidate down-after-milliseconds</text>`,
    ]);
}

/**
 * A waterfall as a self-contained SVG: one block per group, one row per step, the bar from the previous step's median
 * to this step's median, a whisker from its minimum to its maximum, and the median written beside it.
 */
export function waterfallChart(title: string, groups: readonly { label: string; steps: readonly ChartSeries[] }[]): string {
    const width = 900;
    const [left, right, top, rowHeight] = [260, 60, 50, 18];
    const max = Math.max(1, ...groups.flatMap((g) => g.steps.flatMap((s) => s.values)));
    const xOf = (ms: number) => left + ((width - left - right) * ms) / max;
    let y = top;
    const parts: string[] = [];
    groups.forEach((group, g) => {
        parts.push(`<text x="10" y="${y + 12}" font-weight="bold">${escape(group.label)}</text>`);
        y += rowHeight + 4;
        let previous = 0;
        for (const step of group.steps) {
            if (step.values.length > 0) {
                const m = median(step.values);
                const [from, to] = [Math.min(previous, m), Math.max(previous, m)];
                parts.push(
                    `<text x="${left - 8}" y="${y + 12}" text-anchor="end">${escape(step.label)}</text>`,
                    `<rect x="${xOf(from).toFixed(1)}" y="${y + 2}" width="${Math.max(1, xOf(to) - xOf(from)).toFixed(1)}" height="${rowHeight - 4}" fill="${palette[g % palette.length]}"/>`,
                    `<line x1="${xOf(Math.min(...step.values)).toFixed(1)}" y1="${y + rowHeight / 2}" x2="${xOf(Math.max(...step.values)).toFixed(1)}" y2="${y + rowHeight / 2}" stroke="#222"/>`,
                    `<text x="${(xOf(Math.max(...step.values)) + 6).toFixed(1)}" y="${y + 12}" font-size="11">${(m / 1000).toFixed(2)} s</text>`,
                );
                previous = m;
            }
            y += rowHeight;
        }
        y += 12;
    });
    const ticks = Array.from({ length: Math.floor(max / 1000) + 1 }, (_, s) => s * 1000).map(
        (ms) =>
            `<line x1="${xOf(ms)}" y1="${top}" x2="${xOf(ms)}" y2="${y}" stroke="#eee"/><text x="${xOf(ms)}" y="${y + 16}" text-anchor="middle">${ms / 1000} s</text>`,
    );
    return svgDocument(width, y + 40, 12, title, [...ticks, ...parts]);
}
