// The kernel copy of tapline's file addon (file_copy.cc), registered by the module in file_map.cc.
#pragma once

#include <napi.h>

namespace tapline {
void RegisterCopy(Napi::Env env, Napi::Object exports);
}  // namespace tapline
