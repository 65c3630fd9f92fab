/** One project per suite, so that each can be run alone: `npx jest --selectProjects unit`. */
const project = (name, extra = {}) => ({
    displayName: name,
    preset: "ts-jest",
    testEnvironment: "node",
    testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
    transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
    ...extra,
});

module.exports = {
    projects: [project("unit"), project("integration"), project("e2e")],
};
