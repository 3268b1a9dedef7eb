/*
	Native half of esp32-system (see system.js). ESP-IDF v5/v6 APIs:
	esp_restart, esp_ota_get_running_partition, esp_flash_get_size,
	esp_get_idf_version; CONFIG_IDF_FIRMWARE_CHIP_ID is the chip id an app
	image header carries (0x0000 ESP32, 0x0009 ESP32-S3, ...).
*/

#include "xsmc.h"
#include "xsHost.h"
#include "sdkconfig.h"
#include "esp_system.h"
#include "esp_flash.h"
#include "esp_ota_ops.h"

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

void xs_esp32_system_flash_size(xsMachine *the)
{
	uint32_t size = 0;
	if (ESP_OK != esp_flash_get_size(NULL, &size))
		xsUnknownError("flash size unknown");
	xsmcSetNumber(xsResult, size);
}

void xs_esp32_system_idf_version(xsMachine *the)
{
	xsmcSetString(xsResult, (char *)esp_get_idf_version());
}
