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
    return [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
        `<rect width="100%" height="100%" fill="white"/>`,
        `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
        ...rows,
        `<text x="${left}" y="${height - 12}" fill="#555">bar: median; dots: each repetition</text>`,
        `</svg>`,
        "",
    ].join("\n");
}
