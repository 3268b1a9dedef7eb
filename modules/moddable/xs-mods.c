/*
	Native half of xs-mods (see xs-mods.js), built on esp32 and lin alike.
	The XS version this host was compiled with: fxMapArchive
	(xs/sources/xsAPI.c) maps a mod only when the VERS atom's major and minor
	equal XS_MAJOR_VERSION and XS_MINOR_VERSION (xs/sources/xsCommon.h; the
	minor counts the language features this build has on). xsAll.h brings
	xsCommon.h and the machine record, as the SDK's own
	modules/base/modules/modules.c includes it.
*/

#include "xsAll.h"
#include "xs.h"

/* [XS_MAJOR_VERSION, XS_MINOR_VERSION, XS_PATCH_VERSION] */
void xs_ota_xs_version(xsMachine *the)
{
	xsResult = xsNewArray(3);
	xsSetIndex(xsResult, 0, xsInteger(XS_MAJOR_VERSION));
	xsSetIndex(xsResult, 1, xsInteger(XS_MINOR_VERSION));
	xsSetIndex(xsResult, 2, xsInteger(XS_PATCH_VERSION));
}

/*
	Whether XS mapped a mod at this VM's creation: the host called
	fxSetArchive after fxMapArchive succeeded (xsHost.c modInstallMods on
	esp32, screen.c fxScreenLaunch in the simulator). What Modules.archive
	tells by a non-empty list, without building the list.
*/
void xs_ota_archive_mapped(xsMachine *the)
{
	xsResult = xsBoolean(the->archive != NULL);
}
