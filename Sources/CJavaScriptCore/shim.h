#ifndef PARLEY_CJAVASCRIPTCORE_SHIM_H
#define PARLEY_CJAVASCRIPTCORE_SHIM_H

#include <stdbool.h>
#include <JavaScriptCore/JavaScript.h>

/* Exported by libjavascriptcoregtk-4.1 but declared only in the private header
   JSContextRefPrivate.h, which the Debian package does not ship. */
typedef bool (*JSShouldTerminateCallback)(JSContextRef ctx, void *context);
void JSContextGroupSetExecutionTimeLimit(JSContextGroupRef group, double limit,
                                         JSShouldTerminateCallback callback, void *context);
void JSContextGroupClearExecutionTimeLimit(JSContextGroupRef group);

#endif
