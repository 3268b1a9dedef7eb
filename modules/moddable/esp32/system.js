/*
	esp32-system: the few ESP-IDF facts and actions no SDK module exposes
	without pulling in the whole ECMA-419 io manifest (System.restart lives in
	modules/io/system, which needs embedded:provider/builtin). Same pattern as
	the SDK's build/devices/esp32/examples/resetReason/reset.js.
*/

export function restart() @ "xs_esp32_system_restart";
export function runningPartition() @ "xs_esp32_system_running_partition";
export function chipId() @ "xs_esp32_system_chip_id";
export function chipRevision() @ "xs_esp32_system_chip_revision";
export function flashSize() @ "xs_esp32_system_flash_size";
export function idfVersion() @ "xs_esp32_system_idf_version";

// Boot validation: `which` is 0 for the running slot, 1 for the other one.
export function slotLabel(which) @ "xs_esp32_system_slot_label";
export function slotState(which) @ "xs_esp32_system_slot_state";
export function slotApp(which) @ "xs_esp32_system_slot_app";
export function rollbackPossible() @ "xs_esp32_system_rollback_possible";
export function markValid() @ "xs_esp32_system_mark_valid";
export function markInvalidAndReboot() @ "xs_esp32_system_mark_invalid";
export function bootOther() @ "xs_esp32_system_boot_other";
export function slotSize(which) @ "xs_esp32_system_slot_size";
export function slotRead(which, offset, buffer) @ "xs_esp32_system_slot_read";

// The mod partitions (type 0x40: "xs", "xs_a", "xs_b"), by label.
export function modPartitionSize(label) @ "xs_esp32_system_mod_partition_size";
export function modPartitionBlockSize(label) @ "xs_esp32_system_mod_partition_block_size";
export function modPartitionErase(label, offset, length) @ "xs_esp32_system_mod_partition_erase";
export function modPartitionRead(label, offset, buffer) @ "xs_esp32_system_mod_partition_read";
export function modPartitionWrite(label, offset, buffer) @ "xs_esp32_system_mod_partition_write";
