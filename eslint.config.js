// ESLint: the recommended rules of ESLint and typescript-eslint (not the type-checked set: it
// needs the whole program per run and adds only the no-unsafe-* family on top of the `any`
// below). Formatting is prettier's (.prettierrc), so no stylistic rule is enabled here.
const { defineConfig } = require("eslint/config");
const js = require("@eslint/js");
const tseslint = require("typescript-eslint");

// Node's CommonJS module scope, for the few .js files (the bins' ts-node shims, the jest and
// eslint configs, the jest reporter). Listed by hand: six names do not need the `globals` package.
const commonjsGlobals = {
    require: "readonly",
    module: "writable",
    exports: "writable",
    __dirname: "readonly",
    __filename: "readonly",
    process: "readonly",
    console: "readonly",
};

module.exports = defineConfig(
    { ignores: ["node_modules/", "policies/node_modules/", ".tools/", "bin-out/", ".sandbox/", "coverage/", "dist/"] },
    js.configs.recommended,
    tseslint.configs.recommended,
    {
        rules: {
            // `any` is where the project meets untyped data and follows the SDKs' own types:
            // @pulumi/pulumi runtime/mocks.d.ts (MockResourceArgs.inputs: any, MockMonitor's
            // registerResource(req: any, callback: (err: any, ...) => void)), @pulumi/policy
            // policy.d.ts (PolicyConfig's `[key: string]: any`); the tests read recorded inputs
            // the same way. tsc's strict mode still checks every typed value.
            "@typescript-eslint/no-explicit-any": "off",
            // Unused bindings are errors, except the `_`-prefixed names the code uses on purpose
            // (a parameter a callback's signature requires, a key dropped by a rest destructuring).
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", ignoreRestSiblings: true },
            ],
            // `import` everywhere, except the SDKs' internal modules that have no typings and are
            // required with an explicit type cast (policy proxy and deserializer, runtime settings,
            // state and debuggable, the generated gRPC stubs).
            "@typescript-eslint/no-require-imports": ["error", { allow: ["^@pulumi/(pulumi|policy)/"] }],
            // Asks for `new Error(message, { cause })`; the project compiles for es2020, whose Error
            // constructor has no options (tsc: "Expected 0-1 arguments"). The messages that
            // rethrow carry the caught error's text instead.
            "preserve-caught-error": "off",
            // The tests' regexes match YAML and diff lines whose indentation is the point
            // (`/  pve-migration:nodes:\n(    .*\n)+/`); ` {2}` would hide what they match.
            "no-regex-spaces": "off",
        },
    },
    {
        // The commands load their logic lazily (require inside run()), so that a command's start-up
        // reads only its own modules: `migration-ctl phase get` never loads @pulumi/* (the
        // import-graph test in test/cli pins what it loads).
        files: ["cli/**/*.ts"],
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        files: ["**/*.js"],
        languageOptions: { sourceType: "commonjs", globals: commonjsGlobals },
        // Plain CommonJS files: require() is their only way to load a module.
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
);
