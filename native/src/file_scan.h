// The record scanner of tapline's file addon (file_scan.cc), registered by the module in file_map.cc.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace tapline {
void RegisterScan(Napi::Env env, Napi::Object exports);

// The scan itself (see file_scan.cc): records from `from`, at most `capacity`; out[3i..3i+2] and key[i] as
// scanRecords fills them. Returns the count; *stopped = where the scan stopped (the next record's start).
size_t ScanInto(const uint8_t* buf, size_t len, size_t from, int32_t* out, double* key, size_t capacity,
                size_t* stopped);

// Where the record after the first LF separator of `buf` starts, or -1 (none, or a CRLF one first).
int64_t AfterFirstSeparator(const uint8_t* buf, size_t len);
}  // namespace tapline
