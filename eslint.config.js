import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["node_modules/", "build/", "dist/", "artifacts/", "coverage/", "**/*.d.ts"] },
  // Moddable native bindings (`function f() @ "xs_name";`) are not ECMAScript.
  { ignores: ["modules/moddable/esp32/*.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },
  {
    // The engine-neutral core must not reach for host globals.
    files: ["modules/core/**/*.ts"],
    languageOptions: { globals: {} },
    rules: {
      "no-restricted-globals": ["error", "process", "Buffer", "require", "window", "document", "fetch", "setTimeout", "setInterval", "clearTimeout", "console", "TextEncoder", "TextDecoder"],
      "no-restricted-imports": ["error", { patterns: ["node:*", "fs", "http", "net", "crypto", "embedded:*", "timer", "preference", "wifi", "crypt"] }],
    },
  },
  {
    files: ["server/**", "twin/**", "tools/**", "test/**", "bench/**", "scripts/**", "bin/**", "*.js"],
    languageOptions: { globals: { ...globals.node } },
  },
);
