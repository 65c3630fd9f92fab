// ESLint flat config: TypeScript's recommended rules, Pulumi's Output-in-template-literal checks, and a few of ours.
const tseslint = require("typescript-eslint");
const pulumi = require("@pulumi/eslint-plugin");

module.exports = tseslint.config({ ignores: ["node_modules/", "bin/", "coverage/", "*.js"] }, ...tseslint.configs.recommended, {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { project: "./tsconfig.json", tsconfigRootDir: __dirname } },
    plugins: { "@pulumi": pulumi },
    rules: {
        "@pulumi/no-output-in-template-literal": "error",
        "@pulumi/no-output-instance-in-template-literal": "error",
        eqeqeq: "error",
        "prefer-const": "error",
        curly: "error",
        // Tests and the program's wire format handle the engine's untyped values.
        "@typescript-eslint/no-explicit-any": "off",
    },
});
