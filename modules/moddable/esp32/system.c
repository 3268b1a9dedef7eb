/*
	Native half of esp32-system (see system.js). ESP-IDF v5/v6 APIs:
	esp_restart, esp_ota_get_running_partition, the flash size the ROM
	driver was configured with, esp_get_idf_version; CONFIG_IDF_FIRMWARE_CHIP_ID is the chip id an app
	image header carries (0x0000 ESP32, 0x0009 ESP32-S3, ...); the OTA state
	and rollback calls of esp_ota_ops.h; esp_app_get_description (esp_app_desc.h);
	the mod partitions (esp_partition.h).
*/

#include "xsmc.h"
#include "xsHost.h"
#include "sdkconfig.h"
#include "esp_system.h"
#include "esp_rom_spiflash.h"
/*
	mcconfig's include path (tools/mcconfig/make.esp32.mk) does not carry
	components/app_update/include: Moddable's own ota.c and update-esp32.c name
	the header from the components folder, as here. esp_flash.h is not used: it
	includes hal/spi_flash_types.h, which v6.0 keeps in esp_hal_mspi, also off
	the path. test/device/native-includes.test.ts keeps this so.
*/
#include "app_update/include/esp_ota_ops.h"
#include "esp_app_desc.h"
#include "esp_partition.h"
#include "hal/efuse_hal.h"
#include "esp_err.h"
#include <string.h>

void xs_esp32_system_restart(xsMachine *the)
{
	esp_restart();
}

void xs_esp32_system_running_partition(xsMachine *the)
{
	const esp_partition_t *running = esp_ota_get_running_partition();
	if (running)
		xsmcSetString(xsResult, (char *)running->label);
}

void xs_esp32_system_chip_id(xsMachine *the)
{
	xsmcSetInteger(xsResult, CONFIG_IDF_FIRMWARE_CHIP_ID);
}

/*
	What esp_flash_get_size(NULL, ...) answers once the default chip is up:
	esp_flash_init_default_chip (spi_flash/esp_flash_spi_init.c) sets
	default_chip.size = g_rom_flashchip.chip_size, the size in the image
	header, and refuses to start when the chip is smaller.
*/
void xs_esp32_system_flash_size(xsMachine *the)
{
	uint32_t size = g_rom_flashchip.chip_size;
	if (!size)
		xsUnknownError("flash size unknown");
	xsmcSetNumber(xsResult, size);
}

void xs_esp32_system_idf_version(xsMachine *the)
{
	xsmcSetString(xsResult, (char *)esp_get_idf_version());
}

/*
	Boot validation and rollback (ESP-IDF components/app_update/esp_ota_ops.c,
	with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE from ../../../sdkconfig).
	Slot 0 is the running app (esp_ota_get_running_partition), slot 1 the other
	one (esp_ota_get_next_update_partition(NULL): where updates are written).
*/

static const esp_partition_t *slotPartition(xsMachine *the)
{
	int which = xsmcToInteger(xsArg(0));
	const esp_partition_t *partition = which ? esp_ota_get_next_update_partition(NULL) : esp_ota_get_running_partition();
	if (!partition)
		xsUnknownError("no such app partition");
	return partition;
}

void xs_esp32_system_slot_label(xsMachine *the)
{
	xsmcSetString(xsResult, (char *)slotPartition(the)->label);
}

/* esp_ota_get_state_partition in kebab case; "undefined" also for ESP_ERR_NOT_FOUND. */
void xs_esp32_system_slot_state(xsMachine *the)
{
	esp_ota_img_states_t state;
	const char *name = "undefined";
	if (ESP_OK == esp_ota_get_state_partition(slotPartition(the), &state)) {
		switch (state) {
			case ESP_OTA_IMG_NEW: name = "new"; break;
			case ESP_OTA_IMG_PENDING_VERIFY: name = "pending-verify"; break;
			case ESP_OTA_IMG_VALID: name = "valid"; break;
			case ESP_OTA_IMG_INVALID: name = "invalid"; break;
			case ESP_OTA_IMG_ABORTED: name = "aborted"; break;
			default: break;
		}
	}
	xsmcSetString(xsResult, (char *)name);
}

/*
	The slot's esp_app_desc_t as [version, projectName, secureVersion], or
	undefined when it holds none. The running app's comes from
	esp_app_get_description(); the other slot's from flash.
*/
void xs_esp32_system_slot_app(xsMachine *the)
{
	esp_app_desc_t stored;
	const esp_app_desc_t *desc = &stored;
	if (0 == xsmcToInteger(xsArg(0)))
		desc = esp_app_get_description();
	else if (ESP_OK != esp_ota_get_partition_description(slotPartition(the), &stored))
		return;
	xsmcVars(1);
	xsmcSetNewArray(xsResult, 3);
	xsmcSetStringBuffer(xsVar(0), (char *)desc->version, strnlen(desc->version, sizeof(desc->version)));
	xsmcSetIndex(xsResult, 0, xsVar(0));
	xsmcSetStringBuffer(xsVar(0), (char *)desc->project_name, strnlen(desc->project_name, sizeof(desc->project_name)));
	xsmcSetIndex(xsResult, 1, xsVar(0));
	xsmcSetInteger(xsVar(0), desc->secure_version);
	xsmcSetIndex(xsResult, 2, xsVar(0));
}

/* esp_ota_check_rollback_is_possible: the previous otadata entry is valid and its image verifies. */
void xs_esp32_system_rollback_possible(xsMachine *the)
{
	xsmcSetBoolean(xsResult, esp_ota_check_rollback_is_possible());
}

void xs_esp32_system_mark_valid(xsMachine *the)
{
	esp_err_t err = esp_ota_mark_app_valid_cancel_rollback();
	if (ESP_OK != err)
		xsUnknownError("esp_ota_mark_app_valid_cancel_rollback: %s", esp_err_to_name(err));
}

/* Does not return when the rollback can be done (esp_restart). */
void xs_esp32_system_mark_invalid(xsMachine *the)
{
	esp_err_t err = esp_ota_mark_app_invalid_rollback_and_reboot();
	xsUnknownError("esp_ota_mark_app_invalid_rollback_and_reboot: %s", esp_err_to_name(err));
}

/* esp_ota_set_boot_partition(other): it verifies the image and writes otadata (state NEW). */
void xs_esp32_system_boot_other(xsMachine *the)
{
	esp_err_t err = esp_ota_set_boot_partition(esp_ota_get_next_update_partition(NULL));
	if (ESP_OK != err)
		xsUnknownError("esp_ota_set_boot_partition: %s", esp_err_to_name(err));
}

/* The slot partition's size, and esp_partition_read(slot, offset, buffer): the running image is measured at boot for HTTPUpdate's sketch size and MD5. */
void xs_esp32_system_slot_size(xsMachine *the)
{
	xsmcSetInteger(xsResult, slotPartition(the)->size);
}

void xs_esp32_system_slot_read(xsMachine *the)
{
	const esp_partition_t *partition = slotPartition(the);
	int offset = xsmcToInteger(xsArg(1));
	void *buffer;
	xsUnsignedValue length;
	xsmcGetBufferWritable(xsArg(2), &buffer, &length);
	esp_err_t err = esp_partition_read(partition, offset, buffer, length);
	if (ESP_OK != err)
		xsUnknownError("esp_partition_read: %s", esp_err_to_name(err));
}

/* The chip revision as image headers compare it (major * 100 + minor): bootloader_common_check_chip_validity. */
void xs_esp32_system_chip_revision(xsMachine *the)
{
	xsmcSetInteger(xsResult, efuse_hal_chip_revision());
}

/*
	The mod partitions of ../../../sdkconfig/partitions.csv, type 0x40: "xs"
	(subtype 1) found as xs/platforms/esp/xsHost.c finds the one it maps,
	esp_partition_find_first(0x40, 1, NULL); the slots "xs_a", "xs_b" by label.
	The SDK's flash modules cannot open the slots: flash-esp32.c
	(modules/io/flash/esp32) and flash.c (modules/files/flash/esp32) open
	"xs" the same way but look any other label up as ESP_PARTITION_TYPE_DATA.
	Offsets and lengths are checked by esp_partition_* (ESP_ERR_INVALID_SIZE,
	erase ranges on erase_size boundaries).
*/
static const esp_partition_t *modPartition(xsMachine *the)
{
	const char *label = xsmcToString(xsArg(0));
	const esp_partition_t *partition;
	if (0 == strcmp(label, "xs"))
		partition = esp_partition_find_first((esp_partition_type_t)0x40, (esp_partition_subtype_t)1, NULL);
	else
		partition = esp_partition_find_first((esp_partition_type_t)0x40, ESP_PARTITION_SUBTYPE_ANY, label);
	if (!partition)
		xsUnknownError("no mod partition %s", label);
	return partition;
}

void xs_esp32_system_mod_partition_size(xsMachine *the)
{
	xsmcSetInteger(xsResult, modPartition(the)->size);
}

void xs_esp32_system_mod_partition_block_size(xsMachine *the)
{
	xsmcSetInteger(xsResult, modPartition(the)->erase_size);
}

void xs_esp32_system_mod_partition_erase(xsMachine *the)
{
	const esp_partition_t *partition = modPartition(the);
	int offset = xsmcToInteger(xsArg(1));
	int length = xsmcToInteger(xsArg(2));
	if ((offset < 0) || (length < 0))
		xsRangeError("negative offset or length");
	esp_err_t err = esp_partition_erase_range(partition, offset, length);
	if (ESP_OK != err)
		xsUnknownError("esp_partition_erase_range: %s", esp_err_to_name(err));
}

void xs_esp32_system_mod_partition_read(xsMachine *the)
{
	const esp_partition_t *partition = modPartition(the);
	int offset = xsmcToInteger(xsArg(1));
	void *buffer;
	xsUnsignedValue length;
	if (offset < 0)
		xsRangeError("negative offset");
	xsmcGetBufferWritable(xsArg(2), &buffer, &length);
	esp_err_t err = esp_partition_read(partition, offset, buffer, length);
	if (ESP_OK != err)
		xsUnknownError("esp_partition_read: %s", esp_err_to_name(err));
}

void xs_esp32_system_mod_partition_write(xsMachine *the)
{
	const esp_partition_t *partition = modPartition(the);
	int offset = xsmcToInteger(xsArg(1));
	void *buffer;
	xsUnsignedValue length;
	if (offset < 0)
		xsRangeError("negative offset");
	xsmcGetBufferReadable(xsArg(2), &buffer, &length);
	esp_err_t err = esp_partition_write(partition, offset, buffer, length);
	if (ESP_OK != err)
		xsUnknownError("esp_partition_write: %s", esp_err_to_name(err));
}
