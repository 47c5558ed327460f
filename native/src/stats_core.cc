// tapline stats addon: the accounting core of src/analytics/ for the common case, in C++.
//
// The JavaScript tracker (src/analytics/tracker.ts) stays the definition; this file does the same work per
// message on batches of records, so that the JSON snapshot is identical (test/analytics/native-core.test.ts
// compares them). What stays in JavaScript: templating paths routes.ts's simple case does not cover, the
// strings of routes and hosts, decoding content-encoded bodies (zlib), building the snapshot from the totals,
// and window() slices.
//
//   JS batch (≤ N records: buffers + offsets)      or scanGor(): the core walks a .gor file's bytes itself
//     │  prepare(): per record, meta fields, the header block (same rules as head-scan.ts), path, host,
//     │             status, body sizes; asks JS only for what it cannot know:
//     ├─▶ jobs: "route of path bytes [a,b)" (not templated here nor cached), "host of bytes [a,b)" (not in the
//     │         host cache), "decoded size of body [a,b) with encoding [c,d)" (content-encoded responses)
//     │  JS answers into `answers` (route index, host index, decoded bytes)
//     ▼
//   commit(): pairing by id (pending table, arrival queue, answered ids in two generations, expiry; final
//             responses that came before their request wait in the early table, within the same bounds),
//             exactly in tracker.ts's order ─▶ Aggregate (aggregator.ts's totals, the live rate)
//                                          └─▶ tallies (11 doubles each) for JS, only while window() needs them
//
// Nothing here trusts the offsets it is given: every record range is checked against its buffer, and every
// read of record bytes stays inside the record's payload.

#include <napi.h>

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace tapline {
namespace {

constexpr uint8_t kLF = 0x0a;
constexpr uint8_t kCR = 0x0d;
constexpr uint8_t kSP = 0x20;
constexpr uint8_t kColon = 0x3a;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Fields per record in `recs` (Int32Array): kind, buffer index, a, b, payload start, payload end.
//   kind 0: a .gor record's meta line is buf[a, b) (b at its LF);
//   kind 1: meta fields from JavaScript: metas[4i..4i+3] = type char code, sec, ns, 4th field; the id is
//           ids[a, b).
constexpr int kRecInts = 6;
// Fields per job in `jobs` (Int32Array): record, what, buffer index, from, to, from2, to2, flag.
constexpr int kJobInts = 8;
constexpr int kJobRoute = 0;     // route of the path bytes [from, to) ('/' when empty)
constexpr int kJobHost = 1;      // host: flag 0 = the Host header value [from, to) (trimmed), 1 = authority bytes
constexpr int kJobDecoded = 2;   // decoded size of body [from, to), encoding value [from2, to2), flag = chunked
// Doubles per tally in the output: route, host, request header and body bytes, response header, body and
// decoded bytes, status, latency ms, start ms, the batch record that finished it (-1 at flush), and a captured
// response's first and last byte on the wire, ms (NaN without one, or replayed).
constexpr int kTallyDoubles = 13;
// Route index of responses without request; host index of the empty host. JavaScript reserves both.
constexpr int32_t kNoRequestRoute = 0;
constexpr int32_t kEmptyHost = 0;
constexpr size_t kAnswered = 4096;  // ids per generation of answered ids (IdSet::kMax)
constexpr size_t kPathCacheEntries = 8192;
constexpr size_t kHostCacheEntries = 1024;
constexpr size_t kCachedKeyMax = 512;

uint64_t HashBytes(const uint8_t* p, size_t n, uint64_t seed) {
  const uint8_t* start = p;
  uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    h = (h ^ v) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t v = 0;
  if (n > 0 && p - start >= 8) {
    // The last 8 bytes of the key, overlapping bytes already hashed: one load instead of a byte loop.
    memcpy(&v, p + n - 8, 8);
    v >>= 8 * (8 - n);
  } else {
    for (size_t i = 0; i < n; i++) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  }
  h = (h ^ v) * 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 29;
  return h | 1;  // 0 marks an empty slot
}

// memcmp(a, b, n) == 0 without a call: keys here (ids, paths, templates) are 10-60 bytes long, where the call
// cost more than the compare. 8 bytes at a time, the tail in one overlapping load.
inline bool SameBytes(const uint8_t* a, const uint8_t* b, size_t n) {
  if (n < 8) {
    for (size_t i = 0; i < n; i++)
      if (a[i] != b[i]) return false;
    return true;
  }
  uint64_t x, y;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    if (x != y) return false;
  }
  if (i == n) return true;
  memcpy(&x, a + n - 8, 8);
  memcpy(&y, b + n - 8, 8);
  return x == y;
}

// A message id, kept inline up to 40 bytes (gor's ids are 24 hex digits): no allocation, no copy call.
class IdKey {
 public:
  void Assign(const uint8_t* p, size_t n) {
    length_ = n;
    if (n <= kInline)
      memcpy(inline_, p, n);
    else
      long_.assign(reinterpret_cast<const char*>(p), n);
  }
  const uint8_t* data() const { return length_ <= kInline ? inline_ : reinterpret_cast<const uint8_t*>(long_.data()); }
  size_t size() const { return length_; }
  bool Equals(const uint8_t* p, size_t n) const { return n == length_ && SameBytes(data(), p, n); }

 private:
  static constexpr size_t kInline = 40;
  uint8_t inline_[kInline];
  size_t length_ = 0;
  std::string long_;
};

// Open addressing, linear probing, backward-shift deletion: hash → uint32 value. The keys live elsewhere;
// `Same(value, key)` tells whether a stored value's key is the one looked up.
class HashIndex {
 public:
  explicit HashIndex(size_t capacity = 16) { Reset(capacity); }

  void Reset(size_t capacity) {
    size_t c = 16;
    while (c < capacity) c <<= 1;
    hashes_.assign(c, 0);
    values_.assign(c, 0);
    size_ = 0;
  }
  void Clear() {
    std::fill(hashes_.begin(), hashes_.end(), 0);
    size_ = 0;
  }
  size_t size() const { return size_; }

  template <class Same>
  int64_t Find(uint64_t h, Same same) const {
    size_t mask = hashes_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      if (hashes_[i] == 0) return -1;
      if (hashes_[i] == h && same(values_[i])) return values_[i];
    }
  }

  // Find() and, when absent, Insert(h, value) in one probe: the value found, or -1 when `value` was inserted.
  template <class Same>
  int64_t FindOrInsert(uint64_t h, Same same, uint32_t value) {
    if ((size_ + 1) * 2 > hashes_.size()) Grow();
    size_t mask = hashes_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      if (hashes_[i] == 0) {
        hashes_[i] = h;
        values_[i] = value;
        size_++;
        return -1;
      }
      if (hashes_[i] == h && same(values_[i])) return values_[i];
    }
  }

  // Inserts without checking for an existing key (callers Find first).
  void Insert(uint64_t h, uint32_t value) {
    if ((size_ + 1) * 2 > hashes_.size()) Grow();
    size_t mask = hashes_.size() - 1;
    size_t i = h & mask;
    while (hashes_[i] != 0) i = (i + 1) & mask;
    hashes_[i] = h;
    values_[i] = value;
    size_++;
  }

  template <class Same>
  bool Erase(uint64_t h, Same same) {
    size_t mask = hashes_.size() - 1;
    size_t i = h & mask;
    for (;; i = (i + 1) & mask) {
      if (hashes_[i] == 0) return false;
      if (hashes_[i] == h && same(values_[i])) break;
    }
    // Backward shift: move later entries of the cluster into the hole when their home allows it.
    size_t hole = i;
    for (size_t j = (i + 1) & mask; hashes_[j] != 0; j = (j + 1) & mask) {
      size_t home = hashes_[j] & mask;
      bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        hashes_[hole] = hashes_[j];
        values_[hole] = values_[j];
        hole = j;
      }
    }
    hashes_[hole] = 0;
    size_--;
    return true;
  }

 private:
  void Grow() {
    std::vector<uint64_t> hs;
    std::vector<uint32_t> vs;
    hs.swap(hashes_);
    vs.swap(values_);
    Reset(hs.size() * 2);
    for (size_t k = 0; k < hs.size(); k++)
      if (hs[k] != 0) Insert(hs[k], vs[k]);
  }

  std::vector<uint64_t> hashes_;
  std::vector<uint32_t> values_;
  size_t size_ = 0;
};

// A set (or map to int32) of byte strings kept in one arena: cleared as a whole.
class ByteKeys {
 public:
  explicit ByteKeys(size_t capacity) : index_(capacity * 2) {}

  int64_t Find(const uint8_t* p, size_t n, uint64_t h) const {
    return index_.Find(h, [&](uint32_t e) { return Same(e, p, n); });
  }
  int32_t ValueAt(int64_t e) const { return entries_[e].value; }
  void Add(const uint8_t* p, size_t n, uint64_t h, int32_t value) {
    entries_.push_back({static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(n), value});
    arena_.append(reinterpret_cast<const char*>(p), n);
    index_.Insert(h, static_cast<uint32_t>(entries_.size() - 1));
  }
  size_t size() const { return entries_.size(); }
  void Clear() {
    entries_.clear();
    arena_.clear();
    index_.Clear();
  }

 private:
  struct Entry {
    uint32_t offset;
    uint32_t length;
    int32_t value;
  };
  bool Same(uint32_t e, const uint8_t* p, size_t n) const {
    const Entry& x = entries_[e];
    return x.length == n && SameBytes(reinterpret_cast<const uint8_t*>(arena_.data()) + x.offset, p, n);
  }
  HashIndex index_;
  std::vector<Entry> entries_;
  std::string arena_;
};

// The ids answered in one generation (at most kMax): a set of byte strings whose index is 4-byte slots — a tag of
// the hash and the entry's number — so that the 8192 slots (32 KiB) stay in the first-level cache; a probe that
// finds a tag compares the full hash, then the bytes. Every answered exchange adds its id here: with 8-byte hashes
// and a separate value array (96 KiB) that probe at a random slot was a third of pairing's time in a profile.
class IdSet {
 public:
  static constexpr size_t kMax = 4096;

  IdSet() : table_(kSlots, 0) {}

  bool Contains(const uint8_t* p, size_t n, uint64_t h) const {
    uint32_t tag = Tag(h);
    for (size_t i = h & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
      uint32_t s = table_[i];
      if (s == 0) return false;
      if ((s >> kIndexBits) == tag && Same(s, p, n, h)) return true;
    }
  }

  // Adds the id unless it is there. The caller keeps size() at most kMax (MarkAnswered starts a new generation).
  void AddIfAbsent(const uint8_t* p, size_t n, uint64_t h) {
    uint32_t tag = Tag(h);
    size_t i = h & (kSlots - 1);
    for (;; i = (i + 1) & (kSlots - 1)) {
      uint32_t s = table_[i];
      if (s == 0) break;
      if ((s >> kIndexBits) == tag && Same(s, p, n, h)) return;
    }
    table_[i] = (tag << kIndexBits) | static_cast<uint32_t>(entries_.size() + 1);
    entries_.push_back({h, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(n)});
    arena_.append(reinterpret_cast<const char*>(p), n);
  }

  size_t size() const { return entries_.size(); }
  void Clear() {
    std::fill(table_.begin(), table_.end(), 0);
    entries_.clear();
    arena_.clear();
  }

 private:
  static constexpr size_t kSlots = 2 * kMax;  // (a power of two; at most half full)
  static constexpr int kIndexBits = 13;      // entry number + 1, up to kMax
  static uint32_t Tag(uint64_t h) { return static_cast<uint32_t>(h >> (64 - (32 - kIndexBits))); }
  struct Entry {
    uint64_t hash;
    uint32_t offset, length;
  };
  bool Same(uint32_t s, const uint8_t* p, size_t n, uint64_t h) const {
    const Entry& e = entries_[(s & ((1u << kIndexBits) - 1)) - 1];
    return e.hash == h && e.length == n &&
           SameBytes(reinterpret_cast<const uint8_t*>(arena_.data()) + e.offset, p, n);
  }
  std::vector<uint32_t> table_;
  std::vector<Entry> entries_;
  std::string arena_;
};

static_assert(kAnswered == IdSet::kMax, "a generation of answered ids fills one IdSet");

// ---- the rules of head-scan.ts / sizes.ts / meta-view.ts, on bytes ----------------------------------------

struct Head {
  int64_t end, lineEnd, space1, space2;
  int64_t hostStart, hostEnd, encodingStart, encodingEnd, transferStart, transferEnd;
};

inline uint8_t Lower(uint8_t c) { return (c >= 0x41 && c <= 0x5a) ? c + 0x20 : c; }

bool NameIs(const uint8_t* buf, int64_t at, const char* name, int n) {
  for (int i = 0; i < n; i++)
    if (Lower(buf[at + i]) != static_cast<uint8_t>(name[i])) return false;
  return true;
}

// The first byte `c` in [from, end), else end (from past end: from). Inline, 16 bytes per step: the lines and
// fields it looks through are 10-60 bytes long, where a call to memchr cost more than the search (a perf profile
// of --stats had memchr at 4-7% of the run).
inline int64_t FindByte(const uint8_t* buf, int64_t from, int64_t end, uint8_t c) {
#if defined(__SSE2__)
  const int64_t first = from;
  const __m128i needle = _mm_set1_epi8(static_cast<char>(c));
  for (; from + 16 <= end; from += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + from));
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, needle)));
    if (m != 0) return from + __builtin_ctz(m);
  }
  if (from < end && end - first >= 16) {
    // The last 16 bytes of [first, end), overlapping what was searched: only bytes from `from` on count.
    int64_t at = end - 16;
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + at));
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, needle))) >> (from - at);
    return m != 0 ? from + __builtin_ctz(m) : end;
  }
#endif
  while (from < end && buf[from] != c) from++;
  return from;
}

// FindByte() for a range of at most 16 bytes when 16 bytes from `from` may be read (below `limit`, the buffer's
// length): one compare, the bits past `end` dropped, instead of a byte loop.
inline int64_t FindByteIn(const uint8_t* buf, int64_t from, int64_t end, int64_t limit, uint8_t c) {
#if defined(__SSE2__)
  if (from < end && end - from <= 16 && from + 16 <= limit) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + from));
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(static_cast<char>(c)))));
    m &= (1u << (end - from)) - 1;  // (end - from <= 16: the shift stays below 32)
    return m != 0 ? from + __builtin_ctz(m) : end;
  }
#endif
  return FindByte(buf, from, end, c);
}

// The first '?' or '#' in [from, end), else end.
inline int64_t FindQueryOrFragment(const uint8_t* buf, int64_t from, int64_t end) {
#if defined(__SSE2__)
  const __m128i q = _mm_set1_epi8('?'), f = _mm_set1_epi8('#');
  for (; from + 16 <= end; from += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + from));
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, f))));
    if (m != 0) return from + __builtin_ctz(m);
  }
#endif
  while (from < end && buf[from] != '?' && buf[from] != '#') from++;
  return from;
}

// The next LF in [from, end), or end.
inline int64_t NextLF(const uint8_t* buf, int64_t from, int64_t end) {
  return from < end ? FindByte(buf, from, end, kLF) : end;
}

// The header `name` (lower-case, no colon in it) is the line at `lineStart` (ending at `lineEnd`): the line's
// first colon is just after the name. (head-scan.ts finds the first colon, then compares names of that length:
// the same lines match, since a name without a colon ends at the first colon exactly when it is followed by one.)
inline bool HeaderIs(const uint8_t* buf, int64_t lineStart, int64_t lineEnd, const char* name, int n) {
  return lineStart + n < lineEnd && buf[lineStart + n] == kColon && NameIs(buf, lineStart, name, n);
}

// HeaderIs(…, "host", 4) in one 4-byte compare: for letters, x | 0x20 equals a lower-case letter exactly when
// Lower(x) does.
inline bool IsHostHeader(const uint8_t* buf, int64_t lineStart, int64_t lineEnd) {
  if (!(lineStart + 4 < lineEnd && buf[lineStart + 4] == kColon)) return false;
  uint32_t v;
  memcpy(&v, buf + lineStart, 4);
  uint32_t host;
  memcpy(&host, "host", 4);
  return (v | 0x20202020u) == host;
}

// The LFs of [start, end) in order, from a bit mask per 16 bytes (one pass over the head, however many lines).
class LfScanner {
 public:
  LfScanner(const uint8_t* buf, int64_t start, int64_t end) : buf_(buf), start_(start), end_(end), base_(start) {
    mask_ = Block(start);
  }

  // The next LF's position, or end.
  int64_t Next() {
    while (mask_ == 0) {
      base_ += 16;
      if (base_ >= end_) return end_;
      mask_ = Block(base_);
    }
    int64_t at = base_ + __builtin_ctz(mask_);
    mask_ &= mask_ - 1;
    return at;
  }

 private:
  // Bit k: buf[at + k] is an LF, for the bytes of [at, min(at + 16, end)).
  unsigned Block(int64_t at) const {
    if (at >= end_) return 0;
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8(static_cast<char>(kLF));
    if (at + 16 <= end_) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf_ + at));
      return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)));
    }
    if (end_ - start_ >= 16) {
      // The last 16 bytes of the range, shifted so that bit 0 is `at`.
      int64_t from = end_ - 16;
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf_ + from));
      return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf))) >> (at - from);
    }
#endif
    unsigned m = 0;
    int64_t n = end_ - at < 16 ? end_ - at : 16;
    for (int64_t k = 0; k < n; k++)
      if (buf_[at + k] == kLF) m |= 1u << k;
    return m;
  }

  const uint8_t* buf_;
  int64_t start_, end_, base_;
  unsigned mask_;
};

// scanHead() of head-scan.ts (without the client header), in one pass over the LFs.
// `limit`: the buffer's length (bytes below it may be read).
void ScanHead(const uint8_t* buf, int64_t start, int64_t end, int64_t limit, Head* out) {
  out->end = end;
  out->space1 = out->space2 = -1;
  out->hostStart = out->hostEnd = out->encodingStart = out->encodingEnd = -1;
  out->transferStart = out->transferEnd = -1;
  LfScanner lfs(buf, start, end);
  int64_t i = lfs.Next();
  // The start line's first two spaces.
  int64_t s1 = i > start ? FindByte(buf, start, i, kSP) : i;
  if (s1 < i) {
    out->space1 = s1;
    int64_t s2 = FindByteIn(buf, s1 + 1, i, limit, kSP);
    if (s2 < i) out->space2 = s2;
  }
  out->lineEnd = (i > start && buf[i - 1] == kCR) ? i - 1 : i;
  if (out->space1 >= out->lineEnd) out->space1 = -1;
  if (out->space2 >= out->lineEnd) out->space2 = -1;
  // At each LF i: the next byte is the next line's first (an LF or a CR may end the head instead).
  while (i + 1 < end) {
    uint8_t next = buf[i + 1];
    if (next <= kCR) {  // (one test for the two bytes that may end the head, on every line)
      if (next == kLF) {
        out->end = i + 2;
        return;
      }
      if (next == kCR && i + 2 < end && buf[i + 2] == kLF) {
        out->end = i + 3;
        return;
      }
    }
    int64_t lineStart = i + 1;
    int64_t j = lfs.Next();
    // next | 0x20 is 'h', 'c' or 't' exactly when Lower(next) is (only 'H' and 'h' give 'h'; so for c and t).
    switch (next | 0x20) {
      case 'h':
        if (out->hostStart == -1 && IsHostHeader(buf, lineStart, j)) {
          out->hostStart = lineStart + 5;
          out->hostEnd = j;
        }
        break;
      case 'c':
        if (out->encodingStart == -1 && HeaderIs(buf, lineStart, j, "content-encoding", 16)) {
          out->encodingStart = lineStart + 17;
          out->encodingEnd = j;
        }
        break;
      case 't':
        if (HeaderIs(buf, lineStart, j, "transfer-encoding", 17)) {
          out->transferStart = lineStart + 18;
          out->transferEnd = j;
        }
        break;
      default:
        break;
    }
    i = j;
  }
}

// JavaScript's String.prototype.trim() and \s, on latin1 characters.
inline bool IsJsSpace(uint8_t c) { return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0xa0; }

bool TrimmedEmpty(const uint8_t* buf, int64_t from, int64_t to) {
  if (from < 0) return true;
  for (int64_t k = from; k < to; k++)
    if (!IsJsSpace(buf[k])) return false;
  return true;
}

// hostText() of wire-text.ts trims ASCII white space bytes only (a 0xA0 byte may end a UTF-8 character, and on
// its own it is shown as \xa0): a Host value is empty when it holds nothing else. Then the target's authority
// names the host, in both engines.
bool HostEmpty(const uint8_t* buf, int64_t from, int64_t to) {
  if (from < 0) return true;
  for (int64_t k = from; k < to; k++)
    if (buf[k] != kSP && (buf[k] < 0x09 || buf[k] > 0x0d)) return false;
  return true;
}

// isChunked() of sizes.ts: /(?:^|,)\s*chunked\s*$/i on the value.
bool IsChunked(const uint8_t* buf, int64_t from, int64_t to) {
  if (from < 0) return false;
  int64_t e = to;
  while (e > from && IsJsSpace(buf[e - 1])) e--;
  if (e - from < 7 || !NameIs(buf, e - 7, "chunked", 7)) return false;
  int64_t s = e - 7;
  while (s > from && IsJsSpace(buf[s - 1])) s--;
  return s == from || buf[s - 1] == ',';
}

// chunkedEntityLength() of sizes.ts.
double ChunkedEntityLength(const uint8_t* body, int64_t from, int64_t to) {
  int64_t pos = from;
  double total = 0;
  while (pos < to) {
    int64_t nl = pos;
    while (nl < to && body[nl] != kLF) nl++;
    if (nl == to) break;
    double size = 0;
    int digits = 0;
    for (int64_t i = pos; i < nl; i++) {
      uint8_t c = body[i];
      int d = (c >= 0x30 && c <= 0x39)   ? c - 0x30
              : (c >= 0x61 && c <= 0x66) ? c - 0x57
              : (c >= 0x41 && c <= 0x46) ? c - 0x37
                                         : -1;
      if (d == -1) break;
      size = size * 16 + d;
      digits++;
    }
    if (digits == 0) break;
    pos = nl + 1;
    if (size == 0) break;
    double left = static_cast<double>(to - pos);
    double available = size < left ? size : left;
    total += available;
    pos += static_cast<int64_t>(available);
    if (pos < to && body[pos] == kCR) pos++;
    if (pos < to && body[pos] == kLF) pos++;
  }
  return total;
}

inline bool IsDigit(uint8_t c) { return c >= 0x30 && c <= 0x39; }

bool HttpSlashAt(const uint8_t* b, int64_t at) {
  return b[at] == 'H' && b[at + 1] == 'T' && b[at + 2] == 'T' && b[at + 3] == 'P' && b[at + 4] == '/';
}

// endsWithHttpVersion(): the request line [start, lineEnd) ends in " HTTP/d.d".
bool EndsWithHttpVersion(const uint8_t* b, int64_t start, int64_t lineEnd) {
  int64_t v = lineEnd - 9;
  return v >= start && b[v] == kSP && HttpSlashAt(b, v + 1) && IsDigit(b[v + 6]) && b[v + 7] == '.' &&
         IsDigit(b[v + 8]);
}

// responseStatus() of sizes.ts.
int ResponseStatus(const uint8_t* b, int64_t start, const Head& h) {
  if (h.space1 == -1 || h.space1 - start != 8 || !HttpSlashAt(b, start) || !IsDigit(b[start + 5]) ||
      b[start + 6] != '.' || !IsDigit(b[start + 7]))
    return -1;
  int64_t at = h.space1 + 1;
  int64_t to = h.space2 == -1 ? h.lineEnd : h.space2;
  if (to - at != 3) return -1;
  int v = 0;
  for (int64_t k = at; k < to; k++) {
    if (!IsDigit(b[k])) return -1;
    v = v * 10 + (b[k] - 0x30);
  }
  return v;
}

// A template being built: bytes past kCachedKeyMax are counted, not kept (such a template is never cached).
struct TemplateBuf {
  uint8_t bytes[kCachedKeyMax];
  size_t length = 0;
  const uint8_t* data() const { return bytes; }
  size_t size() const { return length; }
  bool kept() const { return length <= kCachedKeyMax; }
  void Put(uint8_t c) {
    if (length < kCachedKeyMax) bytes[length] = c;
    length++;
  }
  void Put(const uint8_t* p, size_t n) {
    if (length + n <= kCachedKeyMax) memcpy(bytes + length, p, n);
    length += n;
  }
#if defined(__SSE2__)
  // Put(p, n) for n <= 16 when 16 bytes from p may be read: one 16-byte copy (the bytes past n are overwritten
  // by the next Put or never read) instead of a memcpy call.
  void PutShort16(const uint8_t* p, size_t n) {
    if (length + 16 <= kCachedKeyMax) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + length), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      length += n;
    } else {
      Put(p, n);
    }
  }
#endif
};

// templatePath() of routes.ts for the paths it handles without a regular expression: every segment is digits
// only (`:id`) or short (< 16) without a digit (kept: no placeholder rule matches such a segment, and a file
// name made of such parts, `app.js`, `a.b-c.css`, keeps every part too). Writes the template to `out` and returns
// true; false for any other path (then JavaScript templates it). An empty path is '/', as in tracker.ts.
// Bytes from 0x80 up are neither digits nor '/' and are kept as they are: JavaScript makes the route's text
// (UTF-8, other bytes as \xHH: wire-text.ts) when it answers the first path of a template. That text depends on
// the template's bytes only ('/' and digits are ASCII, so a UTF-8 sequence never spans a segment boundary, and
// an `\xHH` escape has no digit-only segment nor a hash or token shape), so the template cache stays exact.
bool SimpleTemplate(const uint8_t* p, size_t n, TemplateBuf* out, bool canReadAhead = false) {
  static const uint8_t kId[3] = {':', 'i', 'd'};
  out->length = 0;
  if (n == 0) {
    out->Put('/');
    return true;
  }
#if defined(__SSE2__)
  if (canReadAhead && n <= 64) {
    // Every '/' and every digit of the path in two 64-bit masks: a segment is digits only when its bits are all
    // in the digit mask, has a digit when one is.
    const __m128i slash = _mm_set1_epi8('/'), below = _mm_set1_epi8('0' - 1), above = _mm_set1_epi8('9' + 1);
    uint64_t slashes = 0, digitBits = 0;
    for (int k = 0; k < 4; k++) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
      // (Signed compares: bytes from 0x80 up are negative, below '0'.)
      __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, below), _mm_cmplt_epi8(v, above));
      slashes |= static_cast<uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, slash)))) << (16 * k);
      digitBits |= static_cast<uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(digit))) << (16 * k);
    }
    uint64_t inside = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    slashes &= inside;
    digitBits &= inside;
    for (size_t i = 0;;) {
      uint64_t rest = i < 64 ? slashes >> i : 0;
      size_t j = rest != 0 ? i + static_cast<size_t>(__builtin_ctzll(rest)) : n;
      size_t length = j - i;
      if (length > 0) {
        uint64_t segment = (length == 64 ? ~uint64_t{0} : (uint64_t{1} << length) - 1) << i;
        uint64_t digits = digitBits & segment;
        if (digits == segment)
          out->Put(kId, 3);
        else if (digits != 0 || length >= 16)
          return false;
        else if (i + 16 <= 64)
          out->PutShort16(p + i, length);  // (length < 16, and p[0, 64) may be read)
        else
          out->Put(p + i, length);
      }
      if (j >= n) break;
      out->Put('/');
      i = j + 1;
    }
    return true;
  }
#endif
  // Segment by segment (each '/' ends one, the first is empty when the path starts with '/').
  for (size_t i = 0;; i++) {
    size_t j = i, digits = 0;
    for (; j < n && p[j] != '/'; j++) {
      unsigned d = static_cast<unsigned>(p[j]) - 0x30u;
      if (d <= 9) digits++;
    }
    size_t length = j - i;
    if (length > 0) {
      if (digits == length)
        out->Put(kId, 3);
      else if (digits > 0 || length >= 16)
        return false;
      else
        out->Put(p + i, length);
    }
    if (j >= n) break;
    out->Put('/');
    i = j;
  }
  return true;
}

// ---- aggregator.ts's Aggregator and recent-rate.ts's RecentRate, on indexes ----------------------------------
//
// Used when JavaScript asks for it (no window() slices need per-exchange tallies): the exchange goes into the
// buckets here, in the order tracker.ts finishes them, with aggregator.ts's rules (route and host limits with
// the `(other)` bucket, a bucket's one other host or route else '*', sparse latency histograms, the halving
// bandwidth series). snapshot() copies the state out; JavaScript builds the AnalyticsSnapshot from it with its
// own code. Route and host strings stay in JavaScript: a bucket's key and `other` are indexes.

constexpr int32_t kOtherUnset = -2;  // '' in aggregator.ts
constexpr int32_t kOtherMany = -1;   // '*'
constexpr int32_t kOverflowIndex = 1;  // JavaScript reserves route and host index 1 for '(other)'

struct Hist {
  int32_t lo = 0;
  std::vector<uint64_t> counts;  // counts[i - lo]
  double count = 0, max = 0, min = std::numeric_limits<double>::infinity();

  void Record(int32_t index, double ms) {
    if (index < 0) return;
    if (counts.empty()) {
      lo = index;
      counts.assign(1, 0);
    } else if (index < lo) {
      counts.insert(counts.begin(), static_cast<size_t>(lo - index), 0);
      lo = index;
    } else if (static_cast<size_t>(index - lo) >= counts.size()) {
      counts.resize(static_cast<size_t>(index - lo) + 1, 0);
    }
    counts[index - lo]++;
    count++;
    if (ms > max) max = ms;
    if (ms < min) min = ms;
  }

  // Adds `other`'s counts (as if its values had been recorded here).
  void Merge(const Hist& other) {
    if (other.counts.empty()) return;
    int32_t otherHi = other.lo + static_cast<int32_t>(other.counts.size()) - 1;
    if (counts.empty()) {
      lo = other.lo;
      counts.assign(other.counts.size(), 0);
    }
    if (other.lo < lo) {
      counts.insert(counts.begin(), static_cast<size_t>(lo - other.lo), 0);
      lo = other.lo;
    }
    if (static_cast<size_t>(otherHi - lo) >= counts.size()) counts.resize(static_cast<size_t>(otherHi - lo) + 1, 0);
    for (size_t k = 0; k < other.counts.size(); k++) counts[static_cast<size_t>(other.lo - lo) + k] += other.counts[k];
    count += other.count;
    if (other.max > max) max = other.max;
    if (other.min < min) min = other.min;
  }
};

// std::floor without a call into the C library (x86-64's baseline has no roundsd): exact for |x| < 2^52,
// where every double between two integers converts to the lower one by truncation; std::floor otherwise.
inline double Floor(double x) {
  if (!(x > -4503599627370496.0 && x < 4503599627370496.0)) return std::floor(x);
  double t = static_cast<double>(static_cast<int64_t>(x));
  return t > x ? t - 1 : t;
}

// The status class slot of a tally's status: -1 no response, 1-5 for 1xx-5xx, 0 any other.
inline int StatusClass(double st) {
  if (st < 0) return -1;
  double cls = Floor(st / 100);
  return (cls >= 1 && cls <= 5) ? static_cast<int>(cls) : 0;
}

struct AggBucket {
  int32_t key = 0;
  double requests = 0, responses = 0;
  double bytes[5] = {0, 0, 0, 0, 0};  // request header, request body, response header, response body, decoded
  double status[6] = {0, 0, 0, 0, 0, 0};
  double noResponse = 0;
  Hist latency;
  int32_t other = kOtherUnset;

  // `empty`: the index that stands for '' among `otherIndex`es (host 0 for route buckets; none for the others):
  // aggregator.ts's Bucket.add treats '' as "not set yet".
  // `cls`: StatusClass(t[7]).
  void Add(const double* t, int cls, int32_t otherIndex, int32_t latencyBucket, int32_t empty) {
    // A response whose request was never seen is counted for its bytes, not as a request (aggregator.ts).
    if (static_cast<int32_t>(t[0]) != kNoRequestRoute) requests++;
    // (Written out: gcc -O2 kept the loop.)
    bytes[0] += t[2];
    bytes[1] += t[3];
    bytes[2] += t[4];
    bytes[3] += t[5];
    bytes[4] += t[6];
    if (cls < 0) {
      noResponse++;
    } else {
      responses++;
      status[cls]++;
    }
    latency.Record(latencyBucket, t[8]);
    if (other == kOtherUnset || other == empty)
      other = otherIndex;
    else if (other != otherIndex)
      other = kOtherMany;
  }
};

class Aggregate {
 public:
  Aggregate(size_t routeLimit, size_t hostLimit, size_t seriesSlots, double logBase)
      : routeLimit_(routeLimit), hostLimit_(hostLimit), seriesSlots_(seriesSlots), logBase_(logBase) {}

  // t: a tally (kTallyDoubles' fields). `bucketOf`: SparseHistogram.bucketOf
  // in JavaScript, asked only when the logarithm here lands within a hair of a bucket boundary (JavaScript's
  // Math.log and the C library's may differ in the last bit there).
  template <class JsBucketOf>
  void Add(const double* t, JsBucketOf bucketOf) {
    int32_t route = static_cast<int32_t>(t[0]);
    int32_t host = static_cast<int32_t>(t[1]);
    bool overflowed = false;
    AggBucket& r = Bucket(routes_, routeSlot_, routeSize_, route, routeLimit_, &overflowed);
    if (overflowed) routesOverflowed_++;
    AggBucket& h = Bucket(hosts_, hostSlot_, hostSize_, host, hostLimit_, &overflowed);
    if (overflowed) hostsOverflowed_++;
    int32_t lb = BucketOf(t[8], bucketOf);
    // (Bucket() may have grown routes_ before hosts_ were looked up: r and h are in different vectors.)
    int cls = StatusClass(t[7]);
    r.Add(t, cls, host, lb, 0);
    h.Add(t, cls, route, lb, kOtherUnset);
    double responseBytes = t[4] + t[5];
    if (responseBytes > maxResponseBytes_) maxResponseBytes_ = responseBytes;
    // aggregator.ts add(): bytes count when they were on the wire, the request's at its timestamp, a captured
    // response's at its own (t[11]; NaN: at the request's); the span runs from the first byte to the last (t[12]).
    double ms = t[9];
    if (ms > 0) {
      if (ms < firstMs_) firstMs_ = ms;
      if (ms > lastMs_) lastMs_ = ms;
    }
    double requests = static_cast<int32_t>(t[0]) != kNoRequestRoute ? 1 : 0;
    double atMs = t[11];
    if (atMs > 0) {
      if (atMs < firstMs_) firstMs_ = atMs;
      if (t[12] > lastMs_) lastMs_ = t[12];
    }
    if (atMs > 0 && atMs != ms) {
      SeriesAdd(ms, t[2] + t[3], requests);
      SeriesAdd(atMs, responseBytes, 0);
    } else {
      SeriesAdd(ms, t[2] + t[3] + responseBytes, requests);
    }
  }

  void RecentAdd(double nowMs, double bytes) {
    // A batch's exchanges share one time (native-tracker.ts): its slot is found once, not per exchange.
    if (!(nowMs == recentLastMs_)) {
      int64_t n = static_cast<int64_t>(recentStart_.size());
      if (n == 0) return;
      double start = std::floor(nowMs / 1000) * 1000;
      int64_t k = static_cast<int64_t>(start / 1000);
      size_t i = static_cast<size_t>(((k % n) + n) % n);
      if (recentStart_[i] != start) {
        recentStart_[i] = start;
        recentBytes_[i] = 0;
      }
      recentLastMs_ = nowMs;
      recentLastSlot_ = i;
    }
    recentBytes_[recentLastSlot_] += bytes;
  }

  void SetRecentWindow(double windowMs) {
    size_t n = static_cast<size_t>(std::max(1.0, std::ceil(windowMs / 1000))) + 1;
    recentWindowMs_ = windowMs;
    recentStart_.assign(n, -1);
    recentBytes_.assign(n, 0);
    recentLastMs_ = kNaN;
  }

  double RecentPerSecond(double nowMs, double sinceMs) const {
    double from = std::max(sinceMs, std::floor((nowMs - recentWindowMs_) / 1000) * 1000);
    double seconds = (nowMs - from) / 1000;
    if (!(seconds > 0)) return 0;
    double bytes = 0;
    for (size_t i = 0; i < recentStart_.size(); i++) {
      double st = recentStart_[i];
      if (st >= 0 && st + 1000 > from && st <= nowMs) bytes += recentBytes_[i];
    }
    return bytes / seconds;
  }

  // The state as doubles (layout in native-tracker.ts, loadAggregate()).
  void Dump(std::vector<double>* out) const {
    out->clear();
    out->push_back(static_cast<double>(routes_.size()));
    out->push_back(static_cast<double>(hosts_.size()));
    out->push_back(routesOverflowed_);
    out->push_back(hostsOverflowed_);
    out->push_back(maxResponseBytes_);
    out->push_back(firstMs_);
    out->push_back(lastMs_);
    out->push_back(seriesStart_);
    out->push_back(seriesSlotMs_);
    out->push_back(static_cast<double>(seriesBytes_.size()));
    out->insert(out->end(), seriesBytes_.begin(), seriesBytes_.end());
    out->insert(out->end(), seriesRequests_.begin(), seriesRequests_.end());
    DumpBucket(Total(), out);
    for (const AggBucket& b : routes_) DumpBucket(b, out);
    for (const AggBucket& b : hosts_) DumpBucket(b, out);
  }

  // The whole run's bucket, added up from the route buckets when it is read: every exchange is in exactly one of
  // them (its route's, or `(other)`'s), so this is what adding each exchange to a total would give (byte counts
  // are integers, so the sums are exact in any order), without a third bucket to add to per exchange.
  AggBucket Total() const {
    AggBucket total;
    for (const AggBucket& b : routes_) {
      total.requests += b.requests;
      total.responses += b.responses;
      for (int k = 0; k < 5; k++) total.bytes[k] += b.bytes[k];
      for (int k = 0; k < 6; k++) total.status[k] += b.status[k];
      total.noResponse += b.noResponse;
      total.latency.Merge(b.latency);
      if (b.requests > 0) total.other = kOtherMany;  // (what the first exchange added to a total sets)
    }
    return total;
  }

  // Marks the route and host indexes buckets hold (as keys or as their one other).
  void Mark(uint8_t* routes, size_t nr, uint8_t* hosts, size_t nh) const {
    auto mark = [](uint8_t* m, size_t n, int32_t i) {
      if (i >= 0 && static_cast<size_t>(i) < n) m[i] = 1;
    };
    for (const AggBucket& b : routes_) {
      mark(routes, nr, b.key);
      mark(hosts, nh, b.other);
    }
    for (const AggBucket& b : hosts_) {
      mark(hosts, nh, b.key);
      mark(routes, nr, b.other);
    }
  }

 private:
  static void DumpBucket(const AggBucket& b, std::vector<double>* out) {
    out->push_back(b.key);
    out->push_back(b.other);
    out->push_back(b.requests);
    out->push_back(b.responses);
    for (double v : b.bytes) out->push_back(v);
    for (double v : b.status) out->push_back(v);
    out->push_back(b.noResponse);
    out->push_back(b.latency.count);
    out->push_back(b.latency.max);
    out->push_back(b.latency.min);
    size_t at = out->size();
    out->push_back(0);
    double used = 0;
    for (size_t k = 0; k < b.latency.counts.size(); k++) {
      if (b.latency.counts[k] == 0) continue;
      out->push_back(static_cast<double>(b.latency.lo + static_cast<int32_t>(k)));
      out->push_back(static_cast<double>(b.latency.counts[k]));
      used++;
    }
    (*out)[at] = used;
  }

  // aggregator.ts bucket(): the key's bucket; when the map is full, the `(other)` bucket (overflowed).
  static AggBucket& Bucket(std::vector<AggBucket>& buckets, std::vector<int32_t>& slots, size_t& size, int32_t key,
                           size_t limit, bool* overflowed) {
    if (key < 0) key = 0;
    if (static_cast<size_t>(key) >= slots.size()) slots.resize(static_cast<size_t>(key) + 1, -1);
    int32_t slot = slots[key];
    *overflowed = false;
    if (slot >= 0) return buckets[slot];
    if (slot == -1) {
      // First sight: it gets its own bucket unless the map is full (an overflowed key stays overflowed: the
      // map never shrinks).
      if (size >= limit && key != kOverflowIndex) {
        slots[key] = -2;
      } else {
        slots[key] = static_cast<int32_t>(buckets.size());
        buckets.emplace_back();
        buckets.back().key = key;
        size++;
        return buckets.back();
      }
    }
    *overflowed = true;
    if (static_cast<size_t>(kOverflowIndex) >= slots.size()) slots.resize(kOverflowIndex + 1, -1);
    if (slots[kOverflowIndex] < 0) {
      slots[kOverflowIndex] = static_cast<int32_t>(buckets.size());
      buckets.emplace_back();
      buckets.back().key = kOverflowIndex;
      size++;
    }
    return buckets[slots[kOverflowIndex]];
  }

  // The latency bucket of `ms`, remembered per value (a direct-mapped table on the double's bits): a logarithm
  // is the dearest step of adding an exchange up, and latencies repeat (timestamps have a coarse grain).
  template <class JsBucketOf>
  int32_t BucketOf(double ms, JsBucketOf bucketOf) {
    uint64_t bits;
    memcpy(&bits, &ms, 8);
    BucketMemo& m = bucketMemo_[(bits * 0x9e3779b97f4a7c15ULL) >> (64 - kBucketMemoBits)];
    if (m.set && m.bits == bits) return m.bucket;
    bool asked = false;
    int32_t b = ComputeBucketOf(ms, bucketOf, &asked);
    if (!asked) {  // (JavaScript's answers are not kept: it is asked again, as before)
      m.bits = bits;
      m.bucket = b;
      m.set = true;
    }
    return b;
  }

  template <class JsBucketOf>
  int32_t ComputeBucketOf(double ms, JsBucketOf bucketOf, bool* asked) const {
    if (!(ms >= 0) || ms == std::numeric_limits<double>::infinity()) return -1;
    if (ms < 0.001) return 0;
    double v = std::log(ms / 0.001) / logBase_;
    double nearest = std::nearbyint(v);
    if (std::fabs(v - nearest) < 1e-9 * std::max(1.0, std::fabs(v))) {
      *asked = true;
      return bucketOf(ms);
    }
    return static_cast<int32_t>(std::floor(v)) + 1;
  }

  void SeriesAdd(double atMs, double bytes, double requests) {
    if (!std::isfinite(atMs) || atMs <= 0) return;
    if (seriesStart_ < 0) seriesStart_ = Floor(atMs / seriesSlotMs_) * seriesSlotMs_;
    double i = Floor((atMs - seriesStart_) / seriesSlotMs_);
    if (i < 0) {
      // aggregator.ts Series.add(): earlier than the first slot, slots are added in front (wider ones if needed).
      while (static_cast<double>(seriesBytes_.size()) - i > static_cast<double>(std::max<size_t>(seriesSlots_, 2))) {
        Halve(&seriesBytes_);
        Halve(&seriesRequests_);
        seriesSlotMs_ *= 2;
        i = Floor((atMs - seriesStart_) / seriesSlotMs_);
      }
      size_t front = static_cast<size_t>(-i);
      seriesBytes_.insert(seriesBytes_.begin(), front, 0);
      seriesRequests_.insert(seriesRequests_.begin(), front, 0);
      seriesStart_ += i * seriesSlotMs_;
      i = 0;
    }
    while (i >= static_cast<double>(seriesSlots_)) {
      Halve(&seriesBytes_);
      Halve(&seriesRequests_);
      seriesSlotMs_ *= 2;
      i = Floor((atMs - seriesStart_) / seriesSlotMs_);
    }
    size_t k = static_cast<size_t>(i);
    if (seriesBytes_.size() <= k) {
      seriesBytes_.resize(k + 1, 0);
      seriesRequests_.resize(k + 1, 0);
    }
    seriesBytes_[k] += bytes;
    seriesRequests_[k] += requests;
  }

  static void Halve(std::vector<double>* a) {
    std::vector<double> out;
    for (size_t i = 0; i < a->size(); i += 2) out.push_back((*a)[i] + (i + 1 < a->size() ? (*a)[i + 1] : 0));
    a->swap(out);
  }

  size_t routeLimit_, hostLimit_, seriesSlots_;
  double logBase_;
  std::vector<AggBucket> routes_, hosts_;
  std::vector<int32_t> routeSlot_, hostSlot_;
  size_t routeSize_ = 0, hostSize_ = 0;
  double routesOverflowed_ = 0, hostsOverflowed_ = 0, maxResponseBytes_ = 0;
  double firstMs_ = std::numeric_limits<double>::infinity(), lastMs_ = 0;
  double seriesStart_ = -1, seriesSlotMs_ = 1000;
  std::vector<double> seriesBytes_, seriesRequests_;
  double recentWindowMs_ = 0;
  std::vector<double> recentStart_, recentBytes_;
  double recentLastMs_ = kNaN;  // the time RecentAdd last saw, and its slot
  size_t recentLastSlot_ = 0;
  struct BucketMemo {
    uint64_t bits = 0;
    int32_t bucket = 0;
    bool set = false;
  };
  static constexpr int kBucketMemoBits = 10;
  BucketMemo bucketMemo_[1 << kBucketMemoBits];
};

// ---- records and pending requests --------------------------------------------------------------------------

struct Rec {
  uint32_t index = 0;  // in the batch (jobs, answers and times are by this index)
  int type = 0;        // '1', '2', '3' or 0
  const uint8_t* id = nullptr;
  size_t idLen = 0;
  double sec = 0, ns = 0, fourth = kNaN;
  int32_t buffer = 0;
  int64_t start = 0, end = 0;
  // Requests: -1 not HTTP. Responses: the status, -1 not HTTP. 0: skipped (a response kind not counted).
  int status = 0;
  bool http = false;
  double headerBytes = 0, bodyBytes = 0, decoded = 0;
  int64_t pathFrom = 0, pathTo = 0;
  int hostKind = -1;  // -1 none (''), 0 Host header, 1 authority
  int64_t hostFrom = 0, hostTo = 0;
  int32_t route = -1, host = -1;  // -1: asked of JavaScript
  bool templated = false;         // the route was looked up by its template (SimpleTemplate), not the path
  bool decodeAsked = false;
  bool marked = false;  // the meta line has a field `incomplete=REASON` after the 4th (set with the meta line)

  // Ready for the next record of a batch: the fields only some records set (reading the meta line sets type, id,
  // times and the 4th field for every record; index, buffer, start and end are set by the caller). A dozen
  // stores: constructing a Rec zeroed its 160 bytes with `rep stos`, a third of prepare()'s own time.
  void Reset() {
    status = 0;
    http = false;
    headerBytes = bodyBytes = decoded = 0;
    pathFrom = pathTo = 0;
    hostKind = -1;
    hostFrom = hostTo = 0;
    route = host = -1;
    templated = decodeAsked = false;
  }
};

struct Facts {
  int status = 0;
  double headerBytes = 0, bodyBytes = 0, decoded = 0, latencyNs = kNaN;
  // A captured response's first and last byte on the wire, Unix ms (tracker.ts ResponseFacts); NaN when replayed.
  double wireMs = kNaN, wireEndMs = kNaN;
};

struct Pending {
  IdKey id;
  uint64_t idHash = 0;
  double sec = 0, ns = 0, startMs = 0;
  int32_t route = 0, host = 0;
  double headerBytes = 0, bodyBytes = 0, interim = 0;
  bool held = false, done = false;
  Facts heldFacts;
  // latestReplayed (tracker.ts Pending.replayed): the latest replayed answer so far and its timestamp.
  bool replayed = false;
  Facts replayedFacts;
  double replayedSec = 0, replayedNs = 0;
  uint64_t seq = 0;
};

// tracker.ts watchRound(): one of the first kRoundHead requests, by id and timestamp, and how often it was seen.
struct RoundHead {
  IdKey id;
  uint64_t idHash = 0;
  double sec = 0, ns = 0;
  double seen = 0;
};
constexpr size_t kRoundHead = 32;   // tracker.ts ROUND_HEAD
constexpr size_t kRoundStarts = 8;  // tracker.ts ROUND_STARTS

// A final response that came before its request (tracker.ts EarlyResponse: an early 413 or 401 capture emits
// while the request's body is still arriving). Waits for its request within maxPending and the timeout.
struct Early {
  IdKey id;
  uint64_t idHash = 0;
  double sec = 0, ns = 0, ms = 0, fourth = kNaN;
  bool replayed = false, done = false;
  Facts facts;
  uint64_t seq = 0;
};

class StatsCore : public Napi::ObjectWrap<StatsCore> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "StatsCore",
                       {
                           InstanceMethod("prepare", &StatsCore::Prepare),
                           InstanceMethod("scanGor", &StatsCore::ScanGor),
                           InstanceMethod("commit", &StatsCore::Commit),
                           InstanceMethod("take", &StatsCore::Take),
                           InstanceMethod("flush", &StatsCore::Flush),
                           InstanceMethod("counters", &StatsCore::Counters),
                           InstanceMethod("usedIndexes", &StatsCore::UsedIndexes),
                           InstanceMethod("aggregate", &StatsCore::EnableAggregate),
                           InstanceMethod("setTallies", &StatsCore::SetTallies),
                           InstanceMethod("aggregateState", &StatsCore::AggregateState),
                           InstanceMethod("recentPerSecond", &StatsCore::RecentPerSecond),
                       });
  }

  // new StatsCore(maxPending, timeoutMs, preferReplayed, responses: 0 any, 1 original, 2 replayed,
  //               simpleTemplates: no --route rules, so the route of a path is templatePath(path) and the simple
  //               case of it may be made here, latestReplayed: tracker.ts TrackerOptions.latestReplayed)
  explicit StatsCore(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<StatsCore>(info),
        paths_(kPathCacheEntries),
        templates_(kPathCacheEntries),
        hosts_(kHostCacheEntries) {
    maxPending_ = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
    timeoutMs_ = info[1].As<Napi::Number>().DoubleValue();
    preferReplayed_ = info[2].As<Napi::Boolean>().Value();
    responses_ = info[3].As<Napi::Number>().Int32Value();
    simpleTemplates_ = info.Length() > 4 && info[4].As<Napi::Boolean>().Value();
    latestReplayed_ = info.Length() > 5 && info[5].As<Napi::Boolean>().Value();
  }

 private:
  // prepare(buffers: Buffer[], ids: Buffer, recs: Int32Array, metas: Float64Array, n, jobs: Int32Array,
  //         times?: Float64Array) → job count (jobs must hold 2 per record). The records before the first that
  //   needs a job are counted here (see BeginBatch), at their `times`; commit() counts the rest.
  Napi::Value Prepare(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array buffers = info[0].As<Napi::Array>();
    Napi::Buffer<uint8_t> ids = info[1].As<Napi::Buffer<uint8_t>>();
    Napi::Int32Array recs = info[2].As<Napi::Int32Array>();
    Napi::Float64Array metas = info[3].As<Napi::Float64Array>();
    size_t n = static_cast<size_t>(info[4].As<Napi::Number>().Int64Value());
    Napi::Int32Array jobs = info[5].As<Napi::Int32Array>();
    if (recs.ElementLength() < n * kRecInts || metas.ElementLength() < n * 4 ||
        jobs.ElementLength() < n * 2 * kJobInts) {
      Napi::RangeError::New(env, "prepare: arrays too short").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t nb = buffers.Length();
    bufs_.resize(nb);
    lens_.resize(nb);
    for (uint32_t k = 0; k < nb; k++) {
      Napi::Value v = buffers.Get(k);
      if (!v.IsTypedArray()) {
        Napi::TypeError::New(env, "prepare: buffers must be Buffers").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      Napi::Uint8Array b = v.As<Napi::Uint8Array>();
      bufs_[k] = b.Data();
      lens_[k] = static_cast<int64_t>(b.ElementLength());
    }
    const uint8_t* idBytes = ids.Data();
    int64_t idsLen = static_cast<int64_t>(ids.Length());
    const int32_t* r = recs.Data();
    const double* m = metas.Data();
    int32_t* job = jobs.Data();
    size_t jobCount = 0;
    recs_.clear();
    // Every record is checked before any is counted: a bad batch changes nothing.
    for (size_t i = 0; i < n; i++) {
      const int32_t* f = r + i * kRecInts;
      int32_t kind = f[0], bi = f[1];
      int64_t a = f[2], b = f[3], start = f[4], end = f[5];
      if (bi < 0 || static_cast<uint32_t>(bi) >= nb || start < 0 || end < start || end > lens_[bi] ||
          (kind == 0 && (a < 0 || b < a || b > lens_[bi])) || (kind == 1 && (a < 0 || b < a || b > idsLen)) ||
          (kind != 0 && kind != 1)) {
        Napi::RangeError::New(env, "prepare: record out of range").ThrowAsJavaScriptException();
        return env.Undefined();
      }
    }
    BeginBatch(info, 6, n, &env);
    Rec rec;
    for (size_t i = 0; i < n; i++) {
      const int32_t* f = r + i * kRecInts;
      int32_t kind = f[0], bi = f[1];
      int64_t a = f[2], b = f[3], start = f[4], end = f[5];
      if (i + kPrefetchAhead < n) {
        // The reader saw these bytes a whole chunk ago: ask for a later record's meta line and head now.
        const int32_t* g = f + kPrefetchAhead * kRecInts;
        const uint8_t* p = bufs_[g[1]] + (g[0] == 0 ? g[2] : g[4]);
        __builtin_prefetch(p);
        __builtin_prefetch(p + 64);
        __builtin_prefetch(p + 128);
        __builtin_prefetch(p + 192);
      }
      rec.Reset();
      rec.index = static_cast<uint32_t>(i);
      rec.buffer = bi;
      rec.start = start;
      rec.end = end;
      const uint8_t* buf = bufs_[bi];
      if (kind == 0) {
        ReadMeta(buf, a, b, lens_[bi], &rec);
      } else {
        double t = m[4 * i];
        rec.marked = t >= kMarkedType;  // native-tracker.ts adds kMarkedType to the type of a marked message
        if (rec.marked) t -= kMarkedType;
        rec.type = (t == 0x31 || t == 0x32 || t == 0x33) ? static_cast<int>(t) : 0;
        rec.id = idBytes + a;
        rec.idLen = static_cast<size_t>(b - a);
        rec.sec = m[4 * i + 1];
        rec.ns = m[4 * i + 2];
        rec.fourth = m[4 * i + 3];
      }
      size_t before = jobCount;
      if (rec.type == 0x31)
        jobCount = PrepareRequest(buf, bi, i, &rec, job, jobCount);
      else if ((rec.type == 0x32 && responses_ != 2) || (rec.type == 0x33 && responses_ != 1))
        jobCount = PrepareResponse(buf, bi, i, &rec, job, jobCount);
      if (rec.marked) CountMarked(rec.type);
      Keep(rec, jobCount != before);
    }
    EndBatch();
    return Napi::Number::New(env, static_cast<double>(jobCount));
  }

  // A record marked incomplete=REASON of a type accounted (tracker.ts countMarked): replayed responses cut at
  // record time (type 3), else requests and original responses a capture marked.
  void CountMarked(int type) {
    if (type == 0x33 && responses_ != 1)
      counters_[8]++;
    else if (type == 0x31 || (type == 0x32 && responses_ != 2))
      counters_[9]++;
  }
  static constexpr double kMarkedType = 256;

  // A batch's records are counted as they are read (CommitRec), in order, until the first that needs an answer
  // from JavaScript (a job): from there on they wait in recs_ for commit(). With warm caches no record waits,
  // and nothing is stored per record. `times`: info[at], the batch's wall-clock times (optional).
  void BeginBatch(const Napi::CallbackInfo& info, size_t at, size_t n, Napi::Env* env) {
    batchSize_ = n;
    deferred_ = false;
    times_ = nullptr;
    if (info.Length() > at && info[at].IsTypedArray()) {
      Napi::Float64Array times = info[at].As<Napi::Float64Array>();
      if (times.ElementLength() >= n) times_ = times.Data();
    }
    env_ = env;
  }

  void Keep(Rec& rec, bool asked) {
    if (!deferred_ && !asked) {
      current_ = static_cast<double>(rec.index);
      CommitRec(rec, nullptr);
      return;
    }
    deferred_ = true;
    recs_.push_back(rec);
  }

  void EndBatch() {
    current_ = -1;
    env_ = nullptr;
  }

  // scanGor(chunk: Buffer, from, jobs: Int32Array, state: Int32Array(3), times?) → job count; then commit() as after
  // prepare(). Walks `.gor` records of `chunk` from `from` itself (no reader, no record objects), up to kBatch,
  // taking only records the reader's native scanner (file_scan.cc) takes the same way: a meta line without CR
  // with a type and an id, a non-empty payload, the LF separator. state[0] = where it stopped (the next record's
  // start), state[1] = records taken, state[2] = why it stopped: 0 batch full, 1 needs more bytes than the chunk
  // has, 2 a record it does not take (the JavaScript reader reads on from state[0]).
  Napi::Value ScanGor(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint8Array chunk = info[0].As<Napi::Uint8Array>();
    int64_t from = info[1].As<Napi::Number>().Int64Value();
    Napi::Int32Array jobs = info[2].As<Napi::Int32Array>();
    Napi::Int32Array state = info[3].As<Napi::Int32Array>();
    const uint8_t* buf = chunk.Data();
    int64_t len = static_cast<int64_t>(chunk.ElementLength());
    if (jobs.ElementLength() < kBatch * 2 * kJobInts || state.ElementLength() < 3 || from < 0 || from > len ||
        len > INT32_MAX) {
      Napi::RangeError::New(env, "scanGor: bad arguments").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    bufs_.assign(1, buf);
    lens_.assign(1, len);
    recs_.clear();
    int32_t* job = jobs.Data();
    size_t jobCount = 0;
    int why = 0;
    size_t taken = 0;
    BeginBatch(info, 4, kBatch, &env);
    Rec rec;
    while (taken < kBatch) {
      // The separator ending this record: the core followed by LF (followed by CR: CRLF, the reader's).
      int64_t idx = FindCore(buf, len, from);
      int64_t next = -1;
      while (idx >= 0) {
        int64_t after = idx + kCoreLen;
        if (after >= len) break;
        if (buf[after] == kCR) {
          why = 2;
          break;
        }
        if (buf[after] == kLF) {
          next = after + 1;
          break;
        }
        idx = FindCore(buf, len, idx + 1);
      }
      if (next < 0) {
        if (why == 0) why = 1;
        break;
      }
      int64_t b = from < idx ? FindByte(buf, from, idx, kLF) : idx;
      if (b >= idx) b = -1;
      if (b < 0 || b + 1 >= idx || (b > from && buf[b - 1] == kCR)) {
        why = 2;  // no payload, or a CRLF meta line: the reader's problems
        break;
      }
      int64_t s1 = (from + 1 < b && buf[from + 1] == kSP) ? from + 1 : -1;
      if (s1 < 0) {
        const void* sp = memchr(buf + from, kSP, b - from);
        s1 = sp ? static_cast<const uint8_t*>(sp) - buf : -1;
      }
      const void* sp2 = s1 < 0 || s1 + 1 >= b ? nullptr : memchr(buf + s1 + 1, kSP, b - s1 - 1);
      if (s1 < 0 || sp2 == nullptr || s1 == from || static_cast<const uint8_t*>(sp2) - buf == s1 + 1) {
        why = 2;  // malformed meta line
        break;
      }
      size_t i = taken++;
      rec.Reset();
      rec.index = static_cast<uint32_t>(i);
      rec.buffer = 0;
      rec.start = b + 1;
      rec.end = idx;
      ReadMeta(buf, from, b, len, &rec);
      size_t before = jobCount;
      if (rec.type == 0x31)
        jobCount = PrepareRequest(buf, 0, i, &rec, job, jobCount);
      else if ((rec.type == 0x32 && responses_ != 2) || (rec.type == 0x33 && responses_ != 1))
        jobCount = PrepareResponse(buf, 0, i, &rec, job, jobCount);
      if (rec.marked) CountMarked(rec.type);
      Keep(rec, jobCount != before);
      from = next;
    }
    EndBatch();
    batchSize_ = taken;
    int32_t* st = state.Data();
    st[0] = static_cast<int32_t>(from);
    st[1] = static_cast<int32_t>(taken);
    st[2] = why;
    return Napi::Number::New(env, static_cast<double>(jobCount));
  }

  // The next separator core ("\n🐵🙈🙉" without its last LF) at or after `from`, or -1: memchr for the emoji's
  // first byte, rare in HTTP (the same search as file_scan.cc's).
  static int64_t FindCore(const uint8_t* buf, int64_t len, int64_t from) {
    static const uint8_t kCore[13] = {0x0a, 0xf0, 0x9f, 0x90, 0xb5, 0xf0, 0x9f, 0x99, 0x88, 0xf0, 0x9f, 0x99, 0x89};
    int64_t i = from + 1;
    while (i < len) {
      const void* hit = memchr(buf + i, 0xf0, len - i);
      if (hit == nullptr) return -1;
      i = static_cast<const uint8_t*>(hit) - buf;
      int64_t start = i - 1;
      if (buf[start] == kLF && start + kCoreLen <= len && memcmp(buf + start, kCore, kCoreLen) == 0) return start;
      i++;
    }
    return -1;
  }
  static constexpr int64_t kCoreLen = 13;
  static constexpr size_t kPrefetchAhead = 4;
  static constexpr size_t kBatch = 1024;

  // MetaView.fromRecord(): the line buf[a, b) was checked by the reader (two spaces, type and id non-empty).
  // `limit`: the buffer's length (bytes below it may be read).
  static void ReadMeta(const uint8_t* buf, int64_t a, int64_t b, int64_t limit, Rec* rec) {
#if defined(__SSE2__)
    if (b - a <= 64 && a + 64 <= limit) {
      ReadMetaByMask(buf, a, b, rec);
      return;
    }
#endif
    int64_t s1 = a + 1 < b && buf[a + 1] == kSP ? a + 1 : -1;
    if (s1 == -1) s1 = a < b ? FindByte(buf, a, b, kSP) : b;
    int64_t s2 = SpaceOrEnd(buf, s1 + 1 < b ? s1 + 1 : b, b);  // (a line the reader did not check: stay inside)
    TypeAndId(buf, a, b, s1, s2, rec);
    int64_t i = s2 + 1;
    int64_t s3 = SpaceOrEnd(buf, i, b);
    ReadTimestamp(buf, i, s3 < b ? s3 : b, rec);
    rec->marked = false;
    if (s3 >= b) {
      rec->fourth = kNaN;
    } else {
      int64_t f = s3 + 1;
      int64_t e4 = SpaceOrEnd(buf, f, b);
      rec->fourth = Decimal(buf, f, e4);
      if (e4 < b) rec->marked = Marked(buf, e4, b);
    }
  }

  // Whether a field of the meta line's rest [from, b) (from: the space after the 4th field) is `incomplete=…`:
  // what capture (an incomplete or cut message) and --output-http (a response cut at its buffer) add.
  static bool Marked(const uint8_t* buf, int64_t from, int64_t b) {
    static const char kMark[] = "incomplete=";
    const int64_t n = sizeof(kMark) - 1;
    for (int64_t i = from; i < b; i = SpaceOrEnd(buf, i + 1, b)) {
      if (buf[i] == kSP && b - (i + 1) >= n && memcmp(buf + i + 1, kMark, n) == 0) return true;
    }
    return false;
  }

  // The type (a lone '1', '2' or '3' before the first space s1, else 0) and the id (between s1 and s2) of the
  // meta line [a, b): shared by ReadMeta() and ReadMetaByMask(), which find s1 and s2 each their own way.
  static inline void TypeAndId(const uint8_t* buf, int64_t a, int64_t b, int64_t s1, int64_t s2, Rec* rec) {
    rec->type = s1 == a + 1 ? buf[a] : 0;
    if (rec->type != 0x31 && rec->type != 0x32 && rec->type != 0x33) rec->type = 0;
    int64_t idFrom = s1 + 1 < b ? s1 + 1 : b;
    rec->id = buf + idFrom;
    rec->idLen = static_cast<size_t>(s2 > idFrom ? s2 - idFrom : 0);
  }

#if defined(__SSE2__)
  // ReadMeta() for a line of at most 64 bytes with 64 readable bytes from `a`: every space of the line in one
  // 64-bit mask (four 16-byte compares), the fields' ends taken from it in order; the same positions as the
  // searches of ReadMeta (each field ends at the first space after the previous one, or at b).
  static void ReadMetaByMask(const uint8_t* buf, int64_t a, int64_t b, Rec* rec) {
    const __m128i sp = _mm_set1_epi8(static_cast<char>(kSP));
    const __m128i* at = reinterpret_cast<const __m128i*>(buf + a);
    // (Written out: gcc -O2 kept the loop.)
    uint64_t m0 = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(at), sp)));
    uint64_t m1 = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(at + 1), sp)));
    uint64_t m2 = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(at + 2), sp)));
    uint64_t m3 = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(at + 3), sp)));
    uint64_t mask = m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
    int64_t n = b - a;
    if (n < 64) mask &= (uint64_t{1} << n) - 1;
    // The next space's position, or b.
    auto next = [&]() -> int64_t {
      if (mask == 0) return b;
      int64_t at = a + __builtin_ctzll(mask);
      mask &= mask - 1;
      return at;
    };
    // s1: the space at a + 1 when there is one (ReadMeta's rule), else the first.
    int64_t s1;
    if (n > 1 && (mask & 2) != 0) {
      s1 = a + 1;
      mask &= ~uint64_t{3};
    } else {
      s1 = next();
    }
    int64_t s2 = s1 + 1 < b ? next() : b;
    TypeAndId(buf, a, b, s1, s2, rec);
    int64_t i = s2 + 1;
    int64_t s3 = i < b ? next() : i;
    if (!(s3 - i == 19 && Timestamp19(buf + i, rec))) ReadTimestamp(buf, i, s3 < b ? s3 : b, rec);
    rec->marked = false;
    if (s3 >= b) {
      rec->fourth = kNaN;
    } else {
      int64_t f = s3 + 1;
      int64_t e4 = f < b ? next() : f;
      rec->fourth = Decimal(buf, f, e4);
      if (e4 < b) rec->marked = Marked(buf, e4, b);
    }
  }
#endif

  // The first space in [from, to), else `to` (`from` past `to`: itself, as the byte loops it replaces did).
  static int64_t SpaceOrEnd(const uint8_t* buf, int64_t from, int64_t to) {
    if (from >= to) return from;
    return FindByte(buf, from, to, kSP);
  }

  // A timestamp of the usual width, 19 digits (10 of seconds, 9 of ns) at p: the numbers ReadTimestamp gives, in
  // fewer steps; false (nothing set) when one of the 19 is not a digit.
  static inline bool Timestamp19(const uint8_t* p, Rec* rec) {
    int64_t hi = EightDigits(p);
    int64_t lo = EightDigits(p + 10);
    unsigned d8 = static_cast<unsigned>(p[8]) - 0x30u, d9 = static_cast<unsigned>(p[9]) - 0x30u;
    unsigned d18 = static_cast<unsigned>(p[18]) - 0x30u;
    if ((hi | lo) < 0 || d8 > 9 || d9 > 9 || d18 > 9) return false;
    rec->sec = static_cast<double>(hi * 100 + d8 * 10 + d9);
    rec->ns = static_cast<double>(lo * 10 + d18);
    return true;
  }

  static void ReadTimestamp(const uint8_t* buf, int64_t from, int64_t to, Rec* rec) {
    if (to - from == 19 && Timestamp19(buf + from, rec)) return;
    bool negative = from < to && buf[from] == 0x2d;
    int64_t first = negative ? from + 1 : from;
    int64_t split = to - 9 > first ? to - 9 : first;
    if (split - first <= 15 && first < to) {
      // Integers: below 2^53 (up to 15 digits of seconds, 9 of ns) every step of the double loop below is exact,
      // so these are the same numbers, without a chain of floating-point multiplies; anything else (a non-digit,
      // more digits) takes that loop.
      uint64_t isec = 0, ins = 0;
      bool digits = Digits(buf + first, split - first, &isec) && Digits(buf + split, to - split, &ins);
      if (digits) {
        rec->sec = negative ? -static_cast<double>(isec) : static_cast<double>(isec);
        rec->ns = negative ? -static_cast<double>(ins) : static_cast<double>(ins);
        return;
      }
    }
    double sec = 0, ns = 0;
    for (int64_t k = first; k < to; k++) {
      int c = static_cast<int>(buf[k]) - 0x30;
      if (c < 0 || c > 9) {
        rec->sec = rec->ns = 0;
        return;
      }
      if (k < split)
        sec = sec * 10 + c;
      else
        ns = ns * 10 + c;
    }
    if (first >= to) sec = ns = 0;
    rec->sec = negative ? -sec : sec;
    rec->ns = negative ? -ns : ns;
  }

  // Eight ASCII digits at p as a number (p[0] the most significant), or -1 when one of them is not a digit.
  static int64_t EightDigits(const uint8_t* p) {
    uint64_t v;
    memcpy(&v, p, 8);
    uint64_t x = v - 0x3030303030303030ULL;
    // A byte below '0' wraps to 0xcf or more; one above '9' is 10 or more after the subtraction, 16 or more
    // after adding 6: either way a high nibble is set (a borrow only follows a byte that is already caught).
    if (((x | (x + 0x0606060606060606ULL)) & 0xf0f0f0f0f0f0f0f0ULL) != 0) return -1;
    x = x * 10 + (x >> 8);  // bytes 0, 2, 4, 6: the pairs of digits
    x = (((x & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32))) +
         (((x >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32)))) >>
        32;
    return static_cast<int64_t>(x);
  }

  // The decimal digits p[0, n) (n <= 24 and the value below 2^64) into *out; false when one is not a digit.
  static bool Digits(const uint8_t* p, int64_t n, uint64_t* out) {
    uint64_t v = 0;
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
      int64_t eight = EightDigits(p + k);
      if (eight < 0) return false;
      v = v * 100000000ULL + static_cast<uint64_t>(eight);
    }
    for (; k < n; k++) {
      unsigned c = static_cast<unsigned>(p[k]) - 0x30u;
      if (c > 9) return false;
      v = v * 10 + c;
    }
    *out = v;
    return true;
  }

  static double Decimal(const uint8_t* buf, int64_t from, int64_t to) {
    bool negative = from < to && buf[from] == 0x2d;
    int64_t first = negative ? from + 1 : from;
    if (first >= to) return 0;
    double v = 0;
    for (int64_t k = first; k < to; k++) {
      int c = static_cast<int>(buf[k]) - 0x30;
      if (c < 0 || c > 9) return 0;
      v = v * 10 + c;
    }
    return negative ? -v : v;
  }

  static void PutJob(int32_t* job, size_t at, size_t rec, int what, int32_t bi, int64_t from, int64_t to, int64_t from2,
                     int64_t to2, int flag) {
    int32_t* j = job + at * kJobInts;
    j[0] = static_cast<int32_t>(rec);
    j[1] = what;
    j[2] = bi;
    j[3] = static_cast<int32_t>(from);
    j[4] = static_cast<int32_t>(to);
    j[5] = static_cast<int32_t>(from2);
    j[6] = static_cast<int32_t>(to2);
    j[7] = flag;
  }

  size_t PrepareRequest(const uint8_t* buf, int32_t bi, size_t i, Rec* rec, int32_t* job, size_t jobCount) {
    Head h;
    ScanHead(buf, rec->start, rec->end, lens_[bi], &h);
    if (!EndsWithHttpVersion(buf, rec->start, h.lineEnd)) return jobCount;
    rec->http = true;
    // tracker.ts onRequest(): the path of the request-target.
    int64_t t = h.space1 + 1;
    int64_t targetEnd = h.space2 == -1 ? h.lineEnd : h.space2;
    int64_t authorityStart = -1, authorityEnd = -1;
    // (buf[t..t+2] are inside the record: the request line ends in " HTTP/d.d", after space1.)
    bool slashesFirst = buf[t] == ':' && buf[t + 1] == '/' && buf[t + 2] == '/' && t + 2 < targetEnd;
    // Most targets have no ':' in their first 10 bytes: then no "://" to look for.
    int64_t colonEnd = t + 10 < targetEnd ? t + 10 : targetEnd;
    bool colon = t + 1 < colonEnd && FindByteIn(buf, t + 1, colonEnd, lens_[bi], ':') < colonEnd;
    for (int64_t k = t + 1; colon && !slashesFirst && k < t + 10 && k + 2 < targetEnd; k++) {
      if (buf[k] == ':' && buf[k + 1] == '/' && buf[k + 2] == '/') {
        authorityStart = k + 3;
        authorityEnd = authorityStart;
        while (authorityEnd < targetEnd && buf[authorityEnd] != '/') authorityEnd++;
        t = authorityEnd;
        break;
      }
    }
    int64_t pathEnd = FindQueryOrFragment(buf, t, targetEnd);
    rec->pathFrom = t;
    rec->pathTo = pathEnd > t ? pathEnd : t;
    rec->headerBytes = static_cast<double>(h.end - rec->start);
    rec->bodyBytes = static_cast<double>(rec->end - h.end);
    if (!HostEmpty(buf, h.hostStart, h.hostEnd)) {
      rec->hostKind = 0;
      rec->hostFrom = h.hostStart;
      rec->hostTo = h.hostEnd;
    } else if (authorityStart != -1) {
      rec->hostKind = 1;
      rec->hostFrom = authorityStart;
      rec->hostTo = authorityEnd;
    }
    size_t pathLen = static_cast<size_t>(rec->pathTo - rec->pathFrom);
    int64_t e = -1;
    if (simpleTemplates_ && SimpleTemplate(buf + rec->pathFrom, pathLen, &template_, rec->pathFrom + 64 <= lens_[bi])) {
      rec->templated = true;
      // (A template too long to keep is never cached: a miss.)
      const uint8_t* k = template_.data();
      e = template_.kept() ? templates_.Find(k, template_.size(), HashBytes(k, template_.size(), 13)) : -1;
      if (e >= 0) rec->route = templates_.ValueAt(e);
    } else {
      e = paths_.Find(buf + rec->pathFrom, pathLen, HashBytes(buf + rec->pathFrom, pathLen, 7));
      if (e >= 0) rec->route = paths_.ValueAt(e);
    }
    if (e < 0) {
      PutJob(job, jobCount++, i, kJobRoute, bi, rec->pathFrom, rec->pathTo, 0, 0, 0);
    }
    if (rec->hostKind == -1) {
      rec->host = kEmptyHost;
    } else if (IsLastHost(buf, rec)) {
      rec->host = lastHostIndex_;
    } else {
      int64_t he = FindHost(buf, rec);
      if (he >= 0) {
        rec->host = hosts_.ValueAt(he);
        RememberHost(rec->host);
      } else {
        PutJob(job, jobCount++, i, kJobHost, bi, rec->hostFrom, rec->hostTo, 0, 0, rec->hostKind);
      }
    }
    return jobCount;
  }

  // Most traffic names one host: the last one found is compared first (no key to build, no hash).
  bool IsLastHost(const uint8_t* buf, const Rec* rec) const {
    size_t n = static_cast<size_t>(rec->hostTo - rec->hostFrom);
    return lastHostIndex_ >= 0 && lastHost_.size() == n + 1 && lastHost_[0] == static_cast<char>(rec->hostKind) &&
           SameBytes(reinterpret_cast<const uint8_t*>(lastHost_.data()) + 1, buf + rec->hostFrom, n);
  }

  // The key FindHost() built last is the host of index `host`.
  void RememberHost(int32_t host) {
    lastHost_ = hostKey_;
    lastHostIndex_ = host;
  }

  // Host cache keys: the kind byte, then the bytes.
  int64_t FindHost(const uint8_t* buf, const Rec* rec) {
    size_t n = static_cast<size_t>(rec->hostTo - rec->hostFrom);
    if (n > kCachedKeyMax) return -1;
    hostKey_.assign(1, static_cast<char>(rec->hostKind));
    hostKey_.append(reinterpret_cast<const char*>(buf + rec->hostFrom), n);
    const uint8_t* k = reinterpret_cast<const uint8_t*>(hostKey_.data());
    return hosts_.Find(k, hostKey_.size(), HashBytes(k, hostKey_.size(), 11));
  }

  size_t PrepareResponse(const uint8_t* buf, int32_t bi, size_t i, Rec* rec, int32_t* job, size_t jobCount) {
    Head h;
    ScanHead(buf, rec->start, rec->end, lens_[bi], &h);
    rec->status = ResponseStatus(buf, rec->start, h);
    if (rec->status == -1) return jobCount;
    rec->http = true;
    rec->headerBytes = static_cast<double>(h.end - rec->start);
    rec->bodyBytes = static_cast<double>(rec->end - h.end);
    bool chunked = IsChunked(buf, h.transferStart, h.transferEnd);
    bool encoded = !TrimmedEmpty(buf, h.encodingStart, h.encodingEnd);
    if (!encoded) {
      // responseBodySizes() without an encoding: the entity is the decoded size.
      rec->decoded = (chunked && rec->end - h.end > 0) ? ChunkedEntityLength(buf, h.end, rec->end) : rec->bodyBytes;
    } else {
      rec->decodeAsked = true;
      PutJob(job, jobCount++, i, kJobDecoded, bi, h.end, rec->end, h.encodingStart, h.encodingEnd, chunked ? 1 : 0);
    }
    return jobCount;
  }

  // commit(answers: Float64Array (2 per record: route or decoded bytes, host), out: Float64Array) → tallies
  // copied into out (take() gives the rest).
  // One record of a batch, counted (tracker.ts onRequest / onResponse); `ans`: JavaScript's answers to its jobs
  // (null while prepare() counts the records that asked nothing).
  void CommitRec(Rec& rec, const double* ans) {
    observed_++;
    if (rec.type == 0) {
      counters_[5]++;  // not_http
      return;
    }
    if (rec.type == 0x31) {
      if (!rec.http) {
        counters_[5]++;
        return;
      }
      const uint8_t* buf = bufs_[rec.buffer];
      if (rec.route < 0 && rec.templated) {
        rec.route = static_cast<int32_t>(Answer(ans, 2 * rec.index));
        SimpleTemplate(buf + rec.pathFrom, static_cast<size_t>(rec.pathTo - rec.pathFrom), &template_);
        if (template_.kept()) {
          if (templates_.size() >= kPathCacheEntries) templates_.Clear();
          const uint8_t* k = template_.data();
          uint64_t hh = HashBytes(k, template_.size(), 13);
          if (templates_.Find(k, template_.size(), hh) < 0) templates_.Add(k, template_.size(), hh, rec.route);
        }
      } else if (rec.route < 0) {
        rec.route = static_cast<int32_t>(Answer(ans, 2 * rec.index));
        size_t len = static_cast<size_t>(rec.pathTo - rec.pathFrom);
        if (len <= kCachedKeyMax) {
          if (paths_.size() >= kPathCacheEntries) paths_.Clear();
          const uint8_t* p = buf + rec.pathFrom;
          uint64_t hh = HashBytes(p, len, 7);
          if (paths_.Find(p, len, hh) < 0) paths_.Add(p, len, hh, rec.route);
        }
      }
      if (rec.host < 0) {
        rec.host = static_cast<int32_t>(Answer(ans, 2 * rec.index + 1));
        size_t len = static_cast<size_t>(rec.hostTo - rec.hostFrom);
        if (len <= kCachedKeyMax && FindHost(buf, &rec) < 0) {
          if (hosts_.size() >= kHostCacheEntries) hosts_.Clear();
          const uint8_t* k = reinterpret_cast<const uint8_t*>(hostKey_.data());
          hosts_.Add(k, hostKey_.size(), HashBytes(k, hostKey_.size(), 11), rec.host);
          RememberHost(rec.host);
        }
      }
      OnRequest(rec);
    } else if ((rec.type == 0x32 && responses_ != 2) || (rec.type == 0x33 && responses_ != 1)) {
      if (!rec.http) {
        counters_[5]++;
        return;
      }
      if (rec.decodeAsked) rec.decoded = Answer(ans, 2 * rec.index);
      OnResponse(rec, rec.type == 0x33);
    }
  }

  static double Answer(const double* ans, size_t at) { return ans != nullptr ? ans[at] : -1; }

  Napi::Value Commit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Float64Array answers = info[0].As<Napi::Float64Array>();
    size_t n = recs_.size();
    if (answers.ElementLength() < batchSize_ * 2) {
      Napi::RangeError::New(env, "commit: answers too short").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const double* ans = answers.Data();
    // The wall-clock time of each record (live rates): info[2] when given, else prepare()'s.
    if (info.Length() > 2 && info[2].IsTypedArray()) {
      Napi::Float64Array times = info[2].As<Napi::Float64Array>();
      times_ = times.ElementLength() >= batchSize_ ? times.Data() : nullptr;
    }
    env_ = &env;
    for (size_t i = 0; i < n; i++) {
      current_ = static_cast<double>(recs_[i].index);
      CommitRec(recs_[i], ans);
    }
    recs_.clear();
    current_ = -1;
    times_ = nullptr;
    env_ = nullptr;
    return Take(info[1].As<Napi::Float64Array>());
  }

  Napi::Value Take(const Napi::CallbackInfo& info) { return Take(info[0].As<Napi::Float64Array>()); }

  Napi::Value Take(Napi::Float64Array out) {
    size_t cap = out.ElementLength() / kTallyDoubles;
    size_t have = (out_.size() - taken_) / kTallyDoubles;
    size_t count = have < cap ? have : cap;
    if (count > 0) memcpy(out.Data(), out_.data() + taken_, count * kTallyDoubles * sizeof(double));
    taken_ += count * kTallyDoubles;
    if (taken_ == out_.size()) {
      out_.clear();
      taken_ = 0;
    }
    return Napi::Number::New(out.Env(), static_cast<double>(count));
  }

  // flush(out): every waiting request is answered (end of input); → tallies copied, take() for the rest.
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    env_ = &env;
    flushTime_ = info.Length() > 1 ? info[1].As<Napi::Number>().DoubleValue() : 0;
    for (Pending* p = Oldest(); p != nullptr; p = Oldest()) Finish(p);
    for (Early* e = OldestEarly(); e != nullptr; e = OldestEarly()) OrphanEarly(e);
    env_ = nullptr;
    return Take(info[0].As<Napi::Float64Array>());
  }

  // counters(out: Float64Array(up to 9 + kRoundStarts)): no_response, responses_without_request,
  // original_responses_replaced, interim_responses, duplicate_responses, not_http, pending,
  // earlier_replay_responses, repeated_rounds, then the message numbers where rounds started (-1: none), then
  // replayed_responses_cut and marked_incomplete (when the array holds them).
  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Float64Array out = info[0].As<Napi::Float64Array>();
    size_t n = out.ElementLength();  // what fits: the first 7 (pending) as before, then the rest
    if (n >= 7) {
      for (int k = 0; k < 6; k++) out[k] = counters_[k];
      out[6] = static_cast<double>(live_);
    }
    if (n >= 9) {
      out[7] = counters_[6];
      out[8] = counters_[7];
    }
    for (size_t k = 0; k < kRoundStarts && 9 + k < n; k++) out[9 + k] = k < roundStarts_.size() ? roundStarts_[k] : -1;
    if (n >= 9 + kRoundStarts + 2) {
      out[9 + kRoundStarts] = counters_[8];
      out[9 + kRoundStarts + 1] = counters_[9];
    }
    return info.Env().Undefined();
  }

  // usedIndexes(routes: Uint8Array, hosts: Uint8Array): marks the route and host indexes waiting requests
  // hold, and empties the path and host caches (JavaScript then reuses every other index).
  Napi::Value UsedIndexes(const Napi::CallbackInfo& info) {
    Napi::Uint8Array routes = info[0].As<Napi::Uint8Array>();
    Napi::Uint8Array hosts = info[1].As<Napi::Uint8Array>();
    paths_.Clear();
    templates_.Clear();
    hosts_.Clear();
    lastHostIndex_ = -1;
    if (agg_) agg_->Mark(routes.Data(), routes.ElementLength(), hosts.Data(), hosts.ElementLength());
    for (const Pending& p : slab_) {
      if (p.done) continue;
      if (p.route >= 0 && static_cast<size_t>(p.route) < routes.ElementLength()) routes[p.route] = 1;
      if (p.host >= 0 && static_cast<size_t>(p.host) < hosts.ElementLength()) hosts[p.host] = 1;
    }
    return info.Env().Undefined();
  }

  // aggregate(routeLimit, hostLimit, seriesSlots, logBase, recentWindowMs, bucketOf): from now on exchanges are
  // added up here (class Aggregate) instead of handed out as tallies (unless setTallies(true)); recentWindowMs
  // 0: no live rate. Call before the first message.
  Napi::Value EnableAggregate(const Napi::CallbackInfo& info) {
    agg_.reset(new Aggregate(static_cast<size_t>(info[0].As<Napi::Number>().Int64Value()),
                             static_cast<size_t>(info[1].As<Napi::Number>().Int64Value()),
                             static_cast<size_t>(info[2].As<Napi::Number>().Int64Value()),
                             info[3].As<Napi::Number>().DoubleValue()));
    double recent = info[4].As<Napi::Number>().DoubleValue();
    recent_ = recent > 0;
    if (recent_) agg_->SetRecentWindow(recent);
    bucketOf_ = Napi::Persistent(info[5].As<Napi::Function>());
    tallies_ = false;
    return info.Env().Undefined();
  }

  // setTallies(on): tallies are handed out as well (window() slices need each exchange).
  Napi::Value SetTallies(const Napi::CallbackInfo& info) {
    tallies_ = info[0].As<Napi::Boolean>().Value();
    return info.Env().Undefined();
  }

  // aggregateState() → Float64Array: Aggregate::Dump's layout (native-tracker.ts reads it).
  Napi::Value AggregateState(const Napi::CallbackInfo& info) {
    std::vector<double> dump;
    if (agg_) agg_->Dump(&dump);
    Napi::Float64Array out = Napi::Float64Array::New(info.Env(), dump.size());
    if (!dump.empty()) memcpy(out.Data(), dump.data(), dump.size() * sizeof(double));
    return out;
  }

  // recentPerSecond(nowMs, sinceMs): recent-rate.ts perSecond() over the live rate's slots.
  Napi::Value RecentPerSecond(const Napi::CallbackInfo& info) {
    double now = info[0].As<Napi::Number>().DoubleValue();
    double since = info[1].As<Napi::Number>().DoubleValue();
    return Napi::Number::New(info.Env(), agg_ && recent_ ? agg_->RecentPerSecond(now, since) : 0);
  }

  // SparseHistogram.bucketOf(ms) in JavaScript (rare: see Aggregate::BucketOf).
  int32_t JsBucketOf(double ms) {
    if (env_ == nullptr) return -1;
    Napi::Value v = bucketOf_.Call({Napi::Number::New(*env_, ms)});
    return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : -1;
  }

  // ---- tracker.ts, on native state ----

  int64_t FindPending(const uint8_t* id, size_t n, uint64_t h) const {
    return pending_.Find(h, [&](uint32_t k) {
      return slab_[k].id.Equals(id, n);
    });
  }

  Pending* Oldest() { return OldestIn(slab_, queue_, &head_); }

  void Enqueue(uint32_t slot) { PushTo(&queue_, &head_, slot, slab_[slot].seq); }

  // `h`: HashBytes(id, n, 5), the hash the pending table uses too (computed once per message).
  bool WasAnswered(const uint8_t* id, size_t n, uint64_t h) const {
    return answered_.Contains(id, n, h) || answeredBefore_.Contains(id, n, h);
  }

  void MarkAnswered(const Pending* pending) {
    const IdKey& id = pending->id;
    const uint8_t* p = id.data();
    uint64_t h = pending->idHash;
    if (answered_.size() >= kAnswered) {
      std::swap(answered_, answeredBefore_);
      answered_.Clear();
    }
    answered_.AddIfAbsent(p, id.size(), h);
  }

  void Release(Pending* p) {
    pending_.Erase(p->idHash, [&](uint32_t k) { return &slab_[k] == p; });
    p->done = true;
    live_--;
    free_.push_back(static_cast<uint32_t>(p - slab_.data()));
  }

  void OnRequest(const Rec& rec) {
    double startMs = rec.sec * 1000 + rec.ns / 1e6;
    if (startMs > latestMs_) {
      latestMs_ = startMs;
      Pending* oldest = Oldest();
      if (oldest && oldest->startMs < startMs - timeoutMs_)
        Expire(startMs);
      else
        ExpireEarly(startMs);
    }
    uint64_t h = HashBytes(rec.id, rec.idLen, 5);
    WatchRound(rec, h, startMs);
    uint32_t slot = TakeSlot(&slab_, &free_);
    // One probe: the slot goes in unless a request with this id waits (then that one is finished first).
    const uint8_t* id = rec.id;
    size_t idLen = rec.idLen;
    int64_t previous = pending_.FindOrInsert(h, [&](uint32_t k) { return slab_[k].id.Equals(id, idLen); }, slot);
    if (previous >= 0) {
      Finish(&slab_[previous]);
      pending_.Insert(h, slot);
    }
    Pending& p = slab_[slot];
    p.id.Assign(rec.id, rec.idLen);
    p.idHash = h;
    p.sec = rec.sec;
    p.ns = rec.ns;
    p.startMs = startMs;
    p.route = rec.route;
    p.host = rec.host;
    p.headerBytes = rec.headerBytes;
    p.bodyBytes = rec.bodyBytes;
    p.interim = 0;
    p.held = false;
    p.replayed = false;
    p.done = false;
    p.seq = ++seq_;
    live_++;
    Enqueue(slot);
    if (earlyLive_ > 0) {
      int64_t e = FindEarly(rec.id, rec.idLen, h);
      if (e >= 0) PairEarly(&p, &earlySlab_[e]);
    }
    if (live_ > maxPending_) Finish(Oldest());
  }

  // tracker.ts watchRound(): a request of the head seen again with its timestamp, earlier than the latest request's
  // (not pipelined requests of one packet, which share its time and id); seen more often than any before, a new
  // round starts at this message.
  void WatchRound(const Rec& rec, uint64_t h, double startMs) {
    RoundHead* known = nullptr;
    for (RoundHead& r : roundHead_) {
      if (r.idHash == h && r.id.Equals(rec.id, rec.idLen)) {
        known = &r;
        break;
      }
    }
    if (known == nullptr) {
      if (roundHead_.size() < kRoundHead) {
        roundHead_.emplace_back();
        RoundHead& r = roundHead_.back();
        r.id.Assign(rec.id, rec.idLen);
        r.idHash = h;
        r.sec = rec.sec;
        r.ns = rec.ns;
        r.seen = 1;
      }
      return;
    }
    if (known->sec != rec.sec || known->ns != rec.ns || startMs >= latestMs_) return;
    known->seen++;
    if (known->seen <= counters_[7] + 1) return;
    counters_[7]++;
    if (roundStarts_.size() < kRoundStarts) roundStarts_.push_back(observed_ - 1);
  }

  // tracker.ts holdReplayed(): keeps the later-timed of p's replayed answers; the other is an earlier replay's.
  void HoldReplayed(Pending* p, const Facts& res, double sec, double ns) {
    if (p->held) {
      counters_[2]++;
      p->held = false;
    }
    if (p->replayed) {
      counters_[6]++;
      if (sec < p->replayedSec || (sec == p->replayedSec && ns < p->replayedNs)) return;
    }
    p->replayed = true;
    p->replayedFacts = res;
    p->replayedSec = sec;
    p->replayedNs = ns;
  }

  // tracker.ts replayedAt(): a replayed response without its request counts at the latest request's time.
  double ReplayedAt(double ownMs) const { return latestMs_ > 0 ? latestMs_ : ownMs; }

  void Expire(double nowMs) {
    double limit = nowMs - timeoutMs_;
    for (Pending* p = Oldest(); p != nullptr && p->startMs < limit; p = Oldest()) Finish(p);
    ExpireEarly(nowMs);
  }

  // ---- early responses (tracker.ts keepEarly, pairEarly, orphanEarly) ----

  int64_t FindEarly(const uint8_t* id, size_t n, uint64_t h) const {
    return early_.Find(h, [&](uint32_t k) { return earlySlab_[k].id.Equals(id, n); });
  }

  Early* OldestEarly() { return OldestIn(earlySlab_, earlyQueue_, &earlyHead_); }

  void ExpireEarly(double nowMs) {
    double limit = nowMs - timeoutMs_;
    for (Early* e = OldestEarly(); e != nullptr && e->ms < limit; e = OldestEarly()) OrphanEarly(e);
  }

  void KeepEarly(const Rec& rec, bool replayed, const Facts& res, uint64_t h) {
    double ms = rec.sec * 1000 + rec.ns / 1e6;
    ExpireEarly(ms);
    uint32_t slot = TakeSlot(&earlySlab_, &earlyFree_);
    Early& e = earlySlab_[slot];
    e.id.Assign(rec.id, rec.idLen);
    e.idHash = h;
    e.sec = rec.sec;
    e.ns = rec.ns;
    e.ms = ms;
    e.fourth = rec.fourth;
    e.replayed = replayed;
    e.done = false;
    e.facts = res;
    e.seq = ++seq_;
    early_.Insert(h, slot);
    PushTo(&earlyQueue_, &earlyHead_, slot, e.seq);
    earlyLive_++;
    if (earlyLive_ > maxPending_) OrphanEarly(OldestEarly());
  }

  void ReleaseEarly(Early* e) {
    early_.Erase(e->idHash, [&](uint32_t k) { return &earlySlab_[k] == e; });
    e->done = true;
    earlyLive_--;
    earlyFree_.push_back(static_cast<uint32_t>(e - earlySlab_.data()));
  }

  // Its request never came: a response without request, as it was before it waited.
  void OrphanEarly(Early* e) {
    counters_[1]++;
    Facts f = e->facts;
    double ms = e->replayed ? ReplayedAt(e->ms) : e->ms;
    ReleaseEarly(e);
    Emit(kNoRequestRoute, kEmptyHost, 0, 0, 0, ms, &f);
  }

  // The request `p` of the early response `e` came: the exchange is complete (or holds `e` for a replayed one).
  void PairEarly(Pending* p, Early* e) {
    Facts res = e->facts;
    bool replayed = e->replayed;
    if (!replayed) res.latencyNs = OriginalLatency(e->sec, e->ns, e->fourth, *p);
    ReleaseEarly(e);
    if (!replayed && preferReplayed_) {
      p->held = true;
      p->heldFacts = res;
      return;
    }
    if (replayed && latestReplayed_) {
      HoldReplayed(p, res, e->sec, e->ns);
      return;
    }
    MarkAnswered(p);
    Emit(p->route, p->host, p->headerBytes, p->bodyBytes, p->interim, p->startMs, &res);
    Release(p);
  }

  // tracker.ts latencyFrom(): request first byte → response last byte, ns; negative or unknown: NaN.
  static double OwnDuration(double fourth) { return (std::isnan(fourth) || fourth < 0) ? 0 : fourth; }

  static double OriginalLatency(double sec, double ns, double fourth, const Pending& p) {
    double own = OwnDuration(fourth);
    double latency = (sec - p.sec) * 1e9 + (ns - p.ns) + own;
    bool started = p.sec > 0 || (p.sec == 0 && p.ns > 0);
    return latency >= 0 && started ? latency : kNaN;
  }

  void OnResponse(const Rec& rec, bool replayed) {
    uint64_t h = HashBytes(rec.id, rec.idLen, 5);
    int64_t k = FindPending(rec.id, rec.idLen, h);
    Pending* p = k >= 0 ? &slab_[k] : nullptr;
    if (p && rec.status >= 100 && rec.status < 200 && rec.status != 101) {
      counters_[3]++;
      p->interim += static_cast<double>(rec.end - rec.start);
      return;
    }
    Facts res;
    res.status = rec.status;
    res.headerBytes = rec.headerBytes;
    res.bodyBytes = rec.bodyBytes;
    res.decoded = rec.decoded;
    if (replayed) {
      res.latencyNs = rec.fourth >= 0 ? rec.fourth : kNaN;
    } else if (p) {
      res.latencyNs = OriginalLatency(rec.sec, rec.ns, rec.fourth, *p);
    }
    if (!replayed) {
      res.wireMs = rec.sec * 1000 + rec.ns / 1e6;
      res.wireEndMs = res.wireMs + OwnDuration(rec.fourth) / 1e6;
    }
    if (!p) {
      // tracker.ts: answered already, or a second one before its request: a duplicate; a first final one may be
      // early (its request still arriving) and waits for it.
      bool final = rec.status < 100 || rec.status >= 200 || rec.status == 101;
      bool answered = WasAnswered(rec.id, rec.idLen, h);
      if (answered && !replayed && preferReplayed_) {
        // tracker.ts: its replayed answer came first and completed the exchange; this is the original it replaces.
        counters_[2]++;
        return;
      }
      if (answered || (earlyLive_ > 0 && FindEarly(rec.id, rec.idLen, h) >= 0)) {
        counters_[4]++;
      } else if (final) {
        KeepEarly(rec, replayed, res, h);
        return;
      } else {
        counters_[1]++;
      }
      double startMs = rec.sec * 1000 + rec.ns / 1e6;
      if (replayed) startMs = ReplayedAt(startMs);
      Emit(kNoRequestRoute, kEmptyHost, 0, 0, 0, startMs, &res);
      return;
    }
    if (!replayed && preferReplayed_) {
      if (p->replayed)
        counters_[2]++;
      else if (p->held)
        counters_[4]++;
      else {
        p->held = true;
        p->heldFacts = res;
      }
      return;
    }
    if (replayed && latestReplayed_) {
      HoldReplayed(p, res, rec.sec, rec.ns);
      return;
    }
    if (replayed && p->held) counters_[2]++;
    MarkAnswered(p);
    Emit(p->route, p->host, p->headerBytes, p->bodyBytes, p->interim, p->startMs, &res);
    Release(p);
  }

  void Finish(Pending* p) {
    if (p->replayed) {
      MarkAnswered(p);
      Facts f = p->replayedFacts;
      Emit(p->route, p->host, p->headerBytes, p->bodyBytes, p->interim, p->startMs, &f);
    } else if (p->held) {
      MarkAnswered(p);
      Facts f = p->heldFacts;
      Emit(p->route, p->host, p->headerBytes, p->bodyBytes, p->interim, p->startMs, &f);
    } else {
      counters_[0]++;
      Emit(p->route, p->host, p->headerBytes, p->bodyBytes, p->interim, p->startMs, nullptr);
    }
    Release(p);
  }

  void Emit(int32_t route, int32_t host, double headerBytes, double bodyBytes, double interim, double startMs,
            const Facts* res) {
    double local[kTallyDoubles];
    double* t = local;
    if (!agg_ || tallies_) {
      size_t at = out_.size();
      out_.resize(at + kTallyDoubles);
      t = out_.data() + at;
    }
    t[0] = route;
    t[1] = host;
    t[2] = headerBytes;
    t[3] = bodyBytes;
    t[4] = (res ? res->headerBytes : 0) + interim;
    t[5] = res ? res->bodyBytes : 0;
    t[6] = res ? res->decoded : 0;
    t[7] = res ? res->status : -1;
    t[8] = (res ? res->latencyNs : kNaN) / 1e6;
    t[9] = startMs;
    t[10] = current_;
    t[11] = res ? res->wireMs : kNaN;
    t[12] = res ? res->wireEndMs : kNaN;
    if (agg_) {
      agg_->Add(t, [this](double ms) { return JsBucketOf(ms); });
      if (recent_) {
        double at = current_ >= 0 ? (times_ ? times_[static_cast<size_t>(current_)] : 0) : flushTime_;
        agg_->RecentAdd(at, t[2] + t[3] + t[4] + t[5]);
      }
    }
  }

  // An arrival queue (pending requests, early responses): slots in arrival order, answered ones (done, or the slot
  // reused: another seq) left in place and skipped from `head`, compacted as it drains.
  struct QueueEntry {
    uint32_t slot;
    uint64_t seq;
  };

  template <class T>
  static T* OldestIn(std::vector<T>& slab, std::vector<QueueEntry>& queue, size_t* head) {
    while (*head < queue.size()) {
      const QueueEntry& q = queue[*head];
      T& item = slab[q.slot];
      if (item.seq == q.seq && !item.done) return &item;
      (*head)++;
    }
    if (*head > 0) {
      queue.clear();
      *head = 0;
    }
    return nullptr;
  }

  // A free slot of `slab` (one a released entry left), or a new one.
  template <class T>
  static uint32_t TakeSlot(std::vector<T>* slab, std::vector<uint32_t>* free) {
    if (!free->empty()) {
      uint32_t slot = free->back();
      free->pop_back();
      return slot;
    }
    slab->emplace_back();
    return static_cast<uint32_t>(slab->size() - 1);
  }

  static void PushTo(std::vector<QueueEntry>* queue, size_t* head, uint32_t slot, uint64_t seq) {
    if (*head > 1024 && *head * 2 > queue->size()) {
      queue->erase(queue->begin(), queue->begin() + static_cast<std::ptrdiff_t>(*head));
      *head = 0;
    }
    queue->push_back({slot, seq});
  }

  size_t batchSize_ = 0;   // records in the batch prepare() or scanGor() read
  bool deferred_ = false;  // a record of the batch waits for commit(): so do all after it
  size_t maxPending_ = 100000;
  double timeoutMs_ = 60000;
  bool preferReplayed_ = false;
  int responses_ = 0;
  // tracker.ts counters: no_response, responses_without_request, original_responses_replaced, interim_responses,
  // duplicate_responses, not_http, earlier_replay_responses, repeated_rounds, replayed_responses_cut,
  // marked_incomplete.
  double counters_[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  bool latestReplayed_ = false;
  double observed_ = 0;  // records committed (tracker.ts observed)
  std::vector<RoundHead> roundHead_;
  std::vector<double> roundStarts_;
  double latestMs_ = 0;
  double current_ = -1;
  // Aggregation here (aggregate()): the buckets, whether tallies are still handed out, the live rate.
  std::unique_ptr<Aggregate> agg_;
  bool tallies_ = true;
  bool recent_ = false;
  Napi::FunctionReference bucketOf_;
  const double* times_ = nullptr;
  double flushTime_ = 0;
  Napi::Env* env_ = nullptr;
  std::vector<const uint8_t*> bufs_;
  std::vector<int64_t> lens_;
  std::vector<Rec> recs_;
  std::vector<Pending> slab_;
  std::vector<uint32_t> free_;
  HashIndex pending_;
  size_t live_ = 0;
  uint64_t seq_ = 0;
  std::vector<QueueEntry> queue_;
  size_t head_ = 0;
  // Early responses (struct Early), kept as the pending requests are: slab, free slots, index, arrival queue.
  std::vector<Early> earlySlab_;
  std::vector<uint32_t> earlyFree_;
  HashIndex early_;
  size_t earlyLive_ = 0;
  std::vector<QueueEntry> earlyQueue_;
  size_t earlyHead_ = 0;
  IdSet answered_, answeredBefore_;
  ByteKeys paths_, templates_, hosts_;
  bool simpleTemplates_ = false;
  TemplateBuf template_;
  std::string hostKey_;
  std::string lastHost_;  // the key (kind byte, bytes) of the host last found, and its index (-1: none)
  int32_t lastHostIndex_ = -1;
  std::vector<double> out_;
  size_t taken_ = 0;
};

// hasReplayed(chunk): does the chunk hold the separator's emoji followed by "\n3 " or "\r\n3 " (a type-3
// record's start)? report-input.ts's byte search, in one memchr pass for the emoji's first byte (rare in HTTP).
Napi::Value HasReplayed(const Napi::CallbackInfo& info) {
  Napi::Uint8Array chunk = info[0].As<Napi::Uint8Array>();
  const uint8_t* b = chunk.Data();
  size_t n = chunk.ElementLength();
  static const uint8_t kMonkeys[12] = {0xf0, 0x9f, 0x90, 0xb5, 0xf0, 0x9f, 0x99, 0x88, 0xf0, 0x9f, 0x99, 0x89};
  size_t i = 0;
  while (i < n) {
    const void* hit = memchr(b + i, 0xf0, n - i);
    if (hit == nullptr) break;
    i = static_cast<const uint8_t*>(hit) - b;
    if (i + 12 <= n && memcmp(b + i, kMonkeys, 12) == 0) {
      size_t k = i + 12;
      if (k + 3 <= n && b[k] == '\n' && b[k + 1] == '3' && b[k + 2] == ' ') return Napi::Boolean::New(info.Env(), true);
      if (k + 4 <= n && b[k] == '\r' && b[k + 1] == '\n' && b[k + 2] == '3' && b[k + 3] == ' ')
        return Napi::Boolean::New(info.Env(), true);
    }
    i++;
  }
  return Napi::Boolean::New(info.Env(), false);
}

}  // namespace
}  // namespace tapline

static Napi::Object InitStats(Napi::Env env, Napi::Object exports) {
  exports.Set("StatsCore", tapline::StatsCore::Define(env));
  exports.Set("hasReplayed", Napi::Function::New(env, tapline::HasReplayed));
  exports.Set("abiVersion", Napi::Number::New(env, 8));
  return exports;
}

NODE_API_MODULE(tapline_stats, InitStats)
