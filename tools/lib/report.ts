import { ClusterAssessment } from "./assess";
import { formatTable } from "./table";

const show = (value: number | null, unit = "") => (value === null ? "-" : `${value}${unit}`);

/** The status table an operator reads: nodes, then Sentinels, then the verdict. */
export function formatAssessment(assessment: ClusterAssessment): string {
    const summarise = (roles: readonly string[]) => (new Set(roles).size === 1 ? `${roles[0]} (all)` : roles.join(","));
    // A HOST column only for a cluster placed on several hosts (dockerHosts).
    const placed = [...assessment.nodes, ...assessment.sentinels].some((row) => row.host !== undefined);
    const host = (row: { host?: string }) => (placed ? [row.host ?? "-"] : []);
    const hostHeader = placed ? ["HOST"] : [];
    const nodes = formatTable(
        ["NODE", ...hostHeader, "ADDRESS", "SENTINELS SAY", "NODE SAYS", "ENGINE", "LINK", "OFFSET", "LAG", "LAG S", "FLAGS"],
        assessment.nodes.map((row) => [
            row.node,
            ...host(row),
            row.address,
            summarise(row.sentinelRoles),
            row.reportedRole,
            row.version,
            row.link,
            show(row.offset),
            show(row.lagBytes, " B"),
            show(row.lagSeconds, " s"),
            row.flags.join(",") || "-",
        ]),
    );
    const sentinels = formatTable(
        ["SENTINEL", ...hostHeader, "ADDRESS", "ANSWERS", "MASTER", "QUORUM", "PEERS", "FLAGS"],
        assessment.sentinels.map((row) => [
            row.sentinel,
            ...host(row),
            row.address,
            row.reachable ? "yes" : "no",
            row.master,
            show(row.quorum),
            show(row.otherSentinels),
            row.flags.join(",") || "-",
        ]),
    );
    const verdict = assessment.healthy
        ? `HEALTHY: master ${assessment.master}, every Sentinel agrees, every replica in sync`
        : `UNHEALTHY:\n${assessment.problems.map((problem) => `  - ${problem}`).join("\n")}`;
    const notices = assessment.notices.map((notice) => `\nNOTE: ${notice}`).join("");
    return `${nodes}\n\n${sentinels}\n\n${verdict}${notices}`;
}
