// The floor for `--stats` on a .gor replay: the least per-exchange work the accounting needs, as one tight C loop.
//
//   cc -O2 -o stats-floor bench/stats-floor.c && ./stats-floor FILE.gor
//
// bench/analytics.ts builds and runs it next to the --stats overhead it measures. It prints one JSON line: the
// best of PASSES timed passes in ns per exchange, and its per-route totals, which the bench checks against
// `tapline report --json` on the same file, so the floor is known to do the same accounting for that file.
//
// What it is given for free, and what it leaves out (each makes the floor lower than any real --stats):
//   - the whole file in memory and every record's bounds, found before the clock starts (the replay's reader
//     finds them anyway);
//   - no JavaScript, no message objects, no batching, no hand-over: one loop over the records;
//   - only the work for this kind of file: meta line (type, id, timestamp, latency) read by position where the
//     format allows; the header block's end found 16 bytes at a time (SSE2), looking at each line's first byte
//     only; the path templated for digit-only segments (":id") and hashed in the same pass; no Host, no
//     content coding, no chunked bodies, no query rules, no percentiles (a log2 histogram), a per-second byte
//     series by the responses' timestamps in a plain ring.
//   - pairing by id in a small open-addressing table (backward-shift deletion), totals added per route.
#define _GNU_SOURCE  // memmem
#include <emmintrin.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { PASSES = 5, PENDING = 1 << 14, ROUTE_SLOTS = 1 << 10, TEMPLATE_MAX = 256 };
static const char kSeparator[] = "\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n";

typedef struct {
  uint64_t key;  // 0: empty
  uint32_t route, requestHeader, requestBody;
} Pending;

typedef struct {
  uint64_t hash;  // 0: empty
  char name[TEMPLATE_MAX];
  double requests, responses, requestHeader, requestBody, responseHeader, responseBody, status[6];
  uint32_t latencyLog2[64];
} Route;

static Pending pending[PENDING];
static Route routes[ROUTE_SLOTS];
// Bytes per second of the responses' timestamps (a ring: the run's bandwidth series).
enum { SERIES = 1 << 10 };
static double series[SERIES];

static inline uint64_t Mix(uint64_t h, uint64_t x) { return (h ^ x) * 0xff51afd7ed558ccdull; }

static inline uint64_t HashId(const uint8_t *p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t x;
    memcpy(&x, p, 8);
    h = Mix(h, x);
  }
  uint64_t tail = 0;
  memcpy(&tail, p, n);
  h = Mix(h, tail);
  h ^= h >> 29;
  return h ? h : 1;
}

// Eight ASCII digits to their value (SWAR): the 19-digit timestamps are read 16 digits at a time.
static inline uint64_t Digits8(const uint8_t *p) {
  uint64_t x;
  memcpy(&x, p, 8);
  x -= 0x3030303030303030ull;
  x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffull;
  x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffull;
  return (x * 10000 + (x >> 32)) & 0xffffffffull;
}

// The byte after the header block (after its empty line) in [from, end), else end.
static inline uint32_t HeadEnd(const uint8_t *p, uint32_t from, uint32_t end) {
  const __m128i lf = _mm_set1_epi8('\n');
  for (uint32_t i = from; i < end; i += 16) {
    uint32_t m = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), lf));
    while (m) {
      uint32_t at = i + (uint32_t)__builtin_ctz(m);
      m &= m - 1;
      if (at >= end) return end;
      if (p[at + 1] == '\r' && at + 2 < end && p[at + 2] == '\n') return at + 3;
      if (p[at + 1] == '\n') return at + 2;
    }
  }
  return end;
}

// The route of the path at `p` (up to ' ' or '?'): digit-only segments become ":id"; hashed as it is read.
static Route *RouteOf(const uint8_t *p, const uint8_t *limit) {
  char name[TEMPLATE_MAX];
  size_t n = 0;
  uint64_t h = 0xcbf29ce484222325ull;
  while (p < limit && *p != ' ' && *p != '?') {
    const uint8_t *seg = p;  // at the segment's '/' (or the path's first byte)
    int allDigits = seg[0] == '/';
    for (p++; p < limit && *p != '/' && *p != ' ' && *p != '?'; p++) allDigits &= (*p >= '0' && *p <= '9');
    allDigits &= p > seg + 1;
    if (allDigits) {
      if (n + 4 < TEMPLATE_MAX) memcpy(name + n, "/:id", 4), n += 4;
      h = Mix(h, 0x64693a2f);
    } else {
      size_t len = (size_t)(p - seg);
      if (n + len < TEMPLATE_MAX) memcpy(name + n, seg, len), n += len;
      for (const uint8_t *q = seg; q < p; q++) h = (h ^ *q) * 0x100000001b3ull;
    }
  }
  if (n == 0) name[n++] = '/';
  name[n] = 0;
  h = h ? h : 1;
  for (uint32_t slot = (uint32_t)h & (ROUTE_SLOTS - 1);; slot = (slot + 1) & (ROUTE_SLOTS - 1)) {
    Route *r = &routes[slot];
    if (r->hash == h) return r;
    if (r->hash == 0) {
      r->hash = h;
      memcpy(r->name, name, n + 1);
      return r;
    }
  }
}

static uint32_t FindSlot(uint64_t key) {
  uint32_t slot = (uint32_t)key & (PENDING - 1);
  while (pending[slot].key != 0 && pending[slot].key != key) slot = (slot + 1) & (PENDING - 1);
  return slot;
}

// Backward-shift deletion: no tombstones, probe chains stay short.
static void Remove(uint32_t slot) {
  uint32_t hole = slot;
  for (uint32_t next = (hole + 1) & (PENDING - 1); pending[next].key != 0; next = (next + 1) & (PENDING - 1)) {
    uint32_t home = (uint32_t)pending[next].key & (PENDING - 1);
    if (((next - home) & (PENDING - 1)) >= ((next - hole) & (PENDING - 1))) {
      pending[hole] = pending[next];
      hole = next;
    }
  }
  pending[hole].key = 0;
}

typedef struct {
  uint32_t start, end;
} Bounds;

static void Pass(const uint8_t *p, const Bounds *records, size_t count) {
  for (size_t r = 0; r < count; r++) {
    uint32_t a = records[r].start, b = records[r].end;
    if (b - a < 8) continue;
    uint8_t type = p[a];
    uint32_t idStart = a + 2, idEnd = idStart;
    if (p[a + 26] == ' ') idEnd = a + 26;  // gor's 24-hex-digit ids
    else while (idEnd < b && p[idEnd] != ' ') idEnd++;
    uint32_t i = idEnd + 1;
    uint64_t stamp = 0;
    if (i + 19 <= b && p[i + 19] == ' ') stamp = Digits8(p + i) * 100000000ull + Digits8(p + i + 8), i += 16;
    while (i < b && p[i] >= '0' && p[i] <= '9') stamp = stamp * 10 + (uint64_t)(p[i++] - '0');
    uint64_t latency = 0;
    for (i++; i < b && p[i] >= '0' && p[i] <= '9'; i++) latency = latency * 10 + (uint64_t)(p[i] - '0');
    while (i < b && p[i] != '\n') i++;
    uint32_t payload = i + 1;
    uint64_t key = HashId(p + idStart, idEnd - idStart);
    if (type == '1') {
      const uint8_t *space = memchr(p + payload, ' ', b - payload < 16 ? b - payload : 16);
      if (space == NULL) continue;
      Route *route = RouteOf(space + 1, p + b);
      uint32_t head = HeadEnd(p, (uint32_t)(space - p), b);
      uint32_t slot = FindSlot(key);
      pending[slot] = (Pending){key, (uint32_t)(route - routes), head - payload, b - head};
    } else if (type == '2') {
      uint32_t slot = FindSlot(key);
      if (pending[slot].key == 0) continue;
      Pending q = pending[slot];
      Remove(slot);
      uint32_t head = HeadEnd(p, payload, b);
      int status = (p[payload + 9] - '0') * 100 + (p[payload + 10] - '0') * 10 + (p[payload + 11] - '0');
      Route *route = &routes[q.route];
      route->requests++;
      route->responses++;
      route->requestHeader += q.requestHeader;
      route->requestBody += q.requestBody;
      route->responseHeader += head - payload;
      route->responseBody += b - head;
      route->status[status >= 100 && status < 600 ? status / 100 : 0]++;
      route->latencyLog2[63 - __builtin_clzll(latency | 1)]++;
      series[(stamp / 1000000000ull) & (SERIES - 1)] += q.requestHeader + q.requestBody + (b - payload);
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: stats-floor FILE.gor\n");
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0 || st.st_size > UINT32_MAX - 64) {
    fprintf(stderr, "stats-floor: cannot read %s (or it is empty or over 4 GiB)\n", argv[1]);
    return 1;
  }
  size_t size = (size_t)st.st_size;
  // 64 bytes of slack past the end: the 16-byte loads may read past the last record.
  uint8_t *p = mmap(NULL, size + 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  for (size_t got = 0; got < size;) {
    ssize_t n = read(fd, p + got, size - got);
    if (n <= 0) return fprintf(stderr, "stats-floor: read failed\n"), 1;
    got += (size_t)n;
  }
  size_t cap = 1024, count = 0;
  Bounds *records = malloc(cap * sizeof *records);
  for (size_t at = 0; at < size;) {
    const uint8_t *sep = memmem(p + at, size - at, kSeparator, sizeof kSeparator - 1);
    size_t end = sep ? (size_t)(sep - p) : size;
    if (count == cap) records = realloc(records, (cap *= 2) * sizeof *records);
    records[count++] = (Bounds){(uint32_t)at, (uint32_t)end};
    at = end + sizeof kSeparator - 1;
  }
  double best = 1e300;
  for (int pass = 0; pass < PASSES; pass++) {
    memset(pending, 0, sizeof pending);
    memset(routes, 0, sizeof routes);
    memset(series, 0, sizeof series);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    Pass(p, records, count);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    if (ns < best) best = ns;
  }
  double exchanges = 0;
  for (int i = 0; i < ROUTE_SLOTS; i++) exchanges += routes[i].requests;
  double seriesBytes = 0;
  int seconds = 0;
  for (int i = 0; i < SERIES; i++) seriesBytes += series[i], seconds += series[i] > 0;
  printf("{\"exchanges\":%.0f,\"ns_per_exchange\":%.1f,\"total_bytes\":%.0f,\"seconds\":%d,\"routes\":[", exchanges,
         best / (exchanges > 0 ? exchanges : 1), seriesBytes, seconds);
  const char *comma = "";
  for (int i = 0; i < ROUTE_SLOTS; i++) {
    Route *r = &routes[i];
    if (r->hash == 0) continue;
    printf("%s{\"route\":\"%s\",\"requests\":%.0f,\"request_header_bytes\":%.0f,\"request_body_bytes\":%.0f,"
           "\"response_header_bytes\":%.0f,\"response_body_bytes\":%.0f,\"status_2xx\":%.0f}",
           comma, r->name, r->requests, r->requestHeader, r->requestBody, r->responseHeader, r->responseBody,
           r->status[2]);
    comma = ",";
  }
  printf("]}\n");
  return 0;
}
