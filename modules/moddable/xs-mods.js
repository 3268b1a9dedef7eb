/*
	xs-mods: what the mod host needs from XS itself (xs-mods.c). Same pattern
	as esp32/system.js.
*/

export function xsVersion() @ "xs_ota_xs_version";
export function archiveMapped() @ "xs_ota_archive_mapped";
