/**
 * Which Pub/Sub channels an ACL channel rule reaches. Sentinels discover each other and agree on the master through
 * the `__sentinel__:hello` channel of every Redis node, so any login that may publish there can add fake Sentinels
 * (and break the failover majority) or announce a master of its choosing.
 */

/** The prefix of every channel Sentinels use on Redis nodes. */
export const sentinelChannelPrefix = "__sentinel__:";

/** The members of a `[...]` class starting at `open`, and the index after its `]`; undefined when it never closes. */
function readClass(pattern: string, open: number): { matches: (ch: string) => boolean; next: number } | undefined {
    let index = open + 1;
    const negated = pattern[index] === "^";
    if (negated) {
        index++;
    }
    const tests: ((ch: string) => boolean)[] = [];
    while (index < pattern.length && pattern[index] !== "]") {
        if (pattern[index] === "\\" && index + 1 < pattern.length) {
            const literal = pattern[index + 1];
            tests.push((ch) => ch === literal);
            index += 2;
        } else if (pattern[index + 1] === "-" && index + 2 < pattern.length && pattern[index + 2] !== "]") {
            const [low, high] = [pattern[index], pattern[index + 2]].sort();
            tests.push((ch) => ch >= low && ch <= high);
            index += 3;
        } else {
            const literal = pattern[index];
            tests.push((ch) => ch === literal);
            index++;
        }
    }
    if (index >= pattern.length) {
        return undefined;
    }
    return { matches: (ch) => tests.some((test) => test(ch)) !== negated, next: index + 1 };
}

/**
 * Whether a channel pattern of an ACL rule (the text after `&`, in Redis's glob syntax: `*`, `?`, `[...]`, `\`)
 * matches at least one channel that starts with `prefix`. Deliberately generous: a malformed class counts as a match.
 */
export function channelPatternReaches(pattern: string, prefix: string): boolean {
    let index = 0;
    for (const ch of prefix) {
        if (index >= pattern.length) {
            return false;
        }
        const token = pattern[index];
        if (token === "*") {
            return true;
        }
        if (token === "?") {
            index++;
        } else if (token === "[") {
            const charClass = readClass(pattern, index);
            if (charClass === undefined) {
                return true;
            }
            if (!charClass.matches(ch)) {
                return false;
            }
            index = charClass.next;
        } else if (token === "\\" && index + 1 < pattern.length) {
            if (pattern[index + 1] !== ch) {
                return false;
            }
            index += 2;
        } else {
            if (token !== ch) {
                return false;
            }
            index++;
        }
    }
    return true;
}

/** Whether one ACL rule token lets its user publish or subscribe on a Sentinel channel. */
export function ruleReachesSentinelChannels(token: string): boolean {
    if (token.toLowerCase() === "allchannels") {
        return true;
    }
    return token.startsWith("&") && channelPatternReaches(token.slice(1), sentinelChannelPrefix);
}
