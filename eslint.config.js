import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

// Host globals: everything browsers or Node define beyond ECMAScript itself
// (atob, structuredClone, URL, performance, setTimeout, Buffer, ...), plus the
// Moddable runtime's own. typescript-eslint turns off no-undef, so the
// engine-neutral core forbids them by name; the core reaches the world only
// through ports (modules/core/ports.ts).
const ecmascript = new Set(Object.keys(globals.es2021));
const hostGlobals = [...new Set([...Object.keys(globals.browser), ...Object.keys(globals.node), "trace", "harden", "print"])].filter((name) => !ecmascript.has(name));

export default tseslint.config(
  { ignores: ["node_modules/", "build/", "dist/", "artifacts/", "coverage/", "**/*.d.ts"] },
  // Moddable native bindings (`function f() @ "xs_name";`) are not ECMAScript.
  { ignores: ["modules/moddable/esp32/*.js", "modules/moddable/xs-mods.js"] },
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
      "no-restricted-globals": ["error", ...hostGlobals.map((name) => ({ name, message: "The core is engine-neutral: reach the host through a port (modules/core/ports.ts)." }))],
      "no-restricted-imports": ["error", { patterns: ["node:*", "fs", "http", "net", "crypto", "embedded:*", "timer", "preference", "wifi", "crypt"] }],
    },
  },
  {
    files: ["server/**", "twin/**", "tools/**", "test/**", "bench/**", "scripts/**", "bin/**", "*.js"],
    languageOptions: { globals: { ...globals.node } },
  },
);
