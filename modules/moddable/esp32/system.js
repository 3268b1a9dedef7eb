/*
	esp32-system: the few ESP-IDF facts and actions no SDK module exposes
	without pulling in the whole ECMA-419 io manifest (System.restart lives in
	modules/io/system, which needs embedded:provider/builtin). Same pattern as
	the SDK's build/devices/esp32/examples/resetReason/reset.js.
*/

export function restart() @ "xs_esp32_system_restart";
export function runningPartition() @ "xs_esp32_system_running_partition";
export function chipId() @ "xs_esp32_system_chip_id";
export function flashSize() @ "xs_esp32_system_flash_size";
export function idfVersion() @ "xs_esp32_system_idf_version";
