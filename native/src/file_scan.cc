// tapline file addon, record scanner: splits a chunk of a `.gor` stream into records in one call, for the
// reader's fast path (src/core/gor-format.ts). Only records that need no decision are taken here: a meta
// line that parses, a non-empty payload and a plain LF separator. The scan stops at the first record that
// is anything else (CRLF, a malformed meta line, an empty payload, a separator cut by the end of the chunk)
// and JavaScript reads that one with its own code, problems and messages included, then scans on.
//
//   scanRecords(chunk, from, ints, keys) -> count
//     for record i < count:  ints[3i] = start, ints[3i+1] = end of the meta line (its LF),
//                            ints[3i+2] = end of the payload (the separator's first byte);
//                            the next record starts 14 bytes after that
//                            keys[i]  = the timestamp as a double, computed digit by digit exactly like
//                                       keyFromBytes() in src/core/meta.ts (NaN when not a number)
//     ints[3 * capacity] must exist: it receives where the scan stopped (the next record's start).
//     capacity = keys.length; the scan stops after that many records.

#include <napi.h>

#include <string.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "file_scan.h"

namespace tapline {
namespace {

constexpr uint8_t kLF = 0x0a;
constexpr uint8_t kSpace = 0x20;
// "\n🐵🙈🙉" without the final LF: what the reader searches for.
constexpr uint8_t kCore[13] = {0x0a, 0xf0, 0x9f, 0x90, 0xb5, 0xf0, 0x9f, 0x99, 0x88, 0xf0, 0x9f, 0x99, 0x89};
constexpr size_t kCoreLen = sizeof kCore;

// Start of the next separator core at or after `from`, or -1 (same rule as findCore() in gor-format.ts:
// the emoji's first byte, 0xF0, is rare in HTTP, so memchr for it nearly always lands on a separator).
int64_t FindCore(const uint8_t* buf, size_t len, size_t from) {
  size_t i = from + 1;
  while (i < len) {
    const void* hit = memchr(buf + i, 0xf0, len - i);
    if (hit == nullptr) return -1;
    i = static_cast<const uint8_t*>(hit) - buf;
    size_t start = i - 1;
    if (buf[start] == kLF && start + kCoreLen <= len && memcmp(buf + start, kCore, kCoreLen) == 0) {
      return static_cast<int64_t>(start);
    }
    i++;
  }
  return -1;
}

double KeyFromBytes(const uint8_t* src, size_t i, size_t end) {
  bool negative = i < end && src[i] == 45;
  if (negative) i++;
  size_t first = i;
  double v = 0;
  for (; i < end; i++) {
    uint8_t c = src[i];
    if (c == kSpace) break;
    if (c < 48 || c > 57) return std::numeric_limits<double>::quiet_NaN();
    v = v * 10 + (c - 48);
  }
  if (i == first) return std::numeric_limits<double>::quiet_NaN();
  return negative ? -v : v;
}

const uint8_t* Find(const uint8_t* from, const uint8_t* end, uint8_t byte) {
  return from < end ? static_cast<const uint8_t*>(memchr(from, byte, end - from)) : nullptr;
}

Napi::Value ScanRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array chunk = info[0].As<Napi::Uint8Array>();
  size_t from = info[1].As<Napi::Number>().Int64Value();
  Napi::Int32Array ints = info[2].As<Napi::Int32Array>();
  Napi::Float64Array keys = info[3].As<Napi::Float64Array>();
  size_t len = chunk.ElementLength();
  size_t capacity = keys.ElementLength();
  if (ints.ElementLength() < 3 * capacity + 1 || len > static_cast<size_t>(INT32_MAX)) {
    Napi::RangeError::New(env, "scanRecords: bad arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t stopped = from;
  size_t count = ScanInto(chunk.Data(), len, from, ints.Data(), keys.Data(), capacity, &stopped);
  ints.Data()[3 * capacity] = static_cast<int32_t>(stopped);
  return Napi::Number::New(env, static_cast<double>(count));
}

}  // namespace

size_t ScanInto(const uint8_t* buf, size_t len, size_t from, int32_t* out, double* key, size_t capacity,
                size_t* stopped) {
  size_t count = 0;
  while (count < capacity && len <= static_cast<size_t>(INT32_MAX)) {
    // The separator that ends this record (a core followed by LF; a core followed by anything else but CR
    // is payload, and the search goes on, as in the reader).
    int64_t idx = FindCore(buf, len, from);
    size_t next;
    for (;;) {
      if (idx < 0) goto stop;
      size_t after = static_cast<size_t>(idx) + kCoreLen;
      if (after >= len || buf[after] == 0x0d) goto stop;  // undecided, or CRLF: JavaScript's
      if (buf[after] == kLF) {
        next = after + 1;
        break;
      }
      idx = FindCore(buf, len, static_cast<size_t>(idx) + 1);
    }
    {
      const uint8_t* start = buf + from;
      const uint8_t* end = buf + idx;
      const uint8_t* nl = Find(start, end, kLF);
      if (nl == nullptr || nl + 1 >= end) goto stop;  // no payload: a problem to report
      if (nl > start && nl[-1] == 0x0d) goto stop;    // CRLF meta line
      const uint8_t* s1 = (start + 1 < nl && start[1] == kSpace) ? start + 1 : Find(start, nl, kSpace);
      const uint8_t* s2 = s1 == nullptr ? nullptr : Find(s1 + 1, nl, kSpace);
      if (s2 == nullptr || s1 == start || s2 == s1 + 1) goto stop;  // malformed meta line
      out[3 * count] = static_cast<int32_t>(from);
      out[3 * count + 1] = static_cast<int32_t>(nl - buf);
      out[3 * count + 2] = static_cast<int32_t>(idx);
      key[count] = KeyFromBytes(buf, s2 + 1 - buf, nl - buf);
      count++;
      from = next;
    }
  }
stop:
  *stopped = from;
  return count;
}

int64_t AfterFirstSeparator(const uint8_t* buf, size_t len) {
  int64_t idx = FindCore(buf, len, 0);
  while (idx >= 0) {
    size_t after = static_cast<size_t>(idx) + kCoreLen;
    if (after >= len || buf[after] == 0x0d) return -1;
    if (buf[after] == kLF) return static_cast<int64_t>(after + 1);
    idx = FindCore(buf, len, static_cast<size_t>(idx) + 1);
  }
  return -1;
}

void RegisterScan(Napi::Env env, Napi::Object exports) {
  exports.Set("scanRecords", Napi::Function::New(env, ScanRecords));
}

}  // namespace tapline
