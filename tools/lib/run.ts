/** How every tool starts: run `main`, exit with its code; on an error, one line `NAME: message` and `failureCode`. */
export function runTool(name: string, main: () => Promise<number>, failureCode: (message: string) => number = () => 2): void {
    main().then(
        (code) => process.exit(code),
        (error) => {
            const message = (error as Error).message;
            console.error(`${name}: ${message}`);
            process.exit(failureCode(message));
        },
    );
}

/** The options that pick the cluster a tool talks to (loadDescription): `--from FILE` or `--stack NAME`. */
export const clusterOptions = { from: { type: "string" }, stack: { type: "string" } } as const;
