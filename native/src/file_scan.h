// The record scanner of tapline's file addon (file_scan.cc), registered by the module in file_map.cc.
#pragma once

#include <napi.h>

namespace tapline {
void RegisterScan(Napi::Env env, Napi::Object exports);
}  // namespace tapline
