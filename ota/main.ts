// The `ota` bin's entry (bundled to dist/ota.js; bin/ota.js runs it).
import { otaProgram } from "./cli";

await otaProgram().parseAsync(process.argv);
