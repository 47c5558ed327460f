// tapline_http.node: the native sender of `--output-http` for plain http:// targets (src/outputs/http-native.ts
// says when it is used). It owns the keep-alive connections to ONE target on a thread of its own, so that
// the per-request socket work (write, read, framing, timing) costs no JavaScript.
//
//   JS thread                                        sender thread (epoll, non-blocking sockets)
//   submit(bytes, offsets, heads, seq, n, cuts) ──▶ in_ (mutex) ──eventfd──▶ pending ──▶ free connection? write
//   submitRun(part, from, max, seq, keys, next) ─┘ (woken only when a        │ (≤ max; one request per
//     copied into one recycled block, the Host     connection is free)      │  connection, no pipelining)
//     rule applied in the copy (FindHostEdit); a                            │
//     raw run's .gor records parsed here; JS                                │
//     bounds what is outstanding (backpressure)                             ▼
//   onResults(fields, n, kept, details, ids) ◀── one threadsafe call ◀── out_ ◀── framed response / failure
//                                     per 64 results (or 1 ms, or idle)        (ResponseFramer, timeouts swept)
//
// Every request submitted gets exactly one result: answered (status, latency, bytes, the first keep_bytes of
// the response) or failed with a reason: connect-refused, connect-failed, dns, reset, timeout, bad-response,
// closed — the same reasons as the JavaScript client (src/outputs/http-connection.ts), with the same rules:
// a request that meets a kept-alive connection the server has just closed is sent once more on a new one;
// a timeout covers connect, send and the whole response. Idle connections above the minimum are closed
// after worker_timeout_ms. Bytes after a complete response (a server answering twice) close the connection.
//
// JS must call close() only once nothing is outstanding (it drains first); close() stops and joins the thread.

#include <napi.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_response_framer.h"

namespace tapline {
namespace {

// 4: raw-run records not exactly one framed request (or with extra meta fields) go to JS; 5: the Host rule
// cuts every later Host line of the head (one Host line sent, as gor's Go client writes).
constexpr int kAbiVersion = 6;

// Result reasons; the order is the JS side's (http-native.ts REASONS).
enum Reason { kOk = 0, kRefused, kConnectFailed, kDns, kReset, kTimeout, kBad, kClosed };

// Fields per result in the Float64Array handed to JS.
constexpr int kFields = 7;
constexpr uint32_t kWakeTag = 0xffffffffu;
constexpr size_t kReadSize = 64 * 1024;
constexpr size_t kPublishBatch = 64;
constexpr double kPublishDelayMs = 1;
// submit()'s cut value asking the addon to find the Host value itself.
constexpr int32_t kFindHost = -2;

double NowMs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string ErrName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "E" + std::to_string(err);
}

// One request: a slice of the batch it came in (one copy and one allocation per batch, not per request).
struct Request {
  std::shared_ptr<const std::string> batch;
  size_t offset = 0;
  size_t length = 0;
  double seq = 0;
  bool head = false;
  // The request's id (a raw run's record: its meta line's id field), stored in the block after the request,
  // for a failure's warning; 0 for requests JS keeps the meta of.
  uint32_t id_len = 0;
  const char* data() const { return batch->data() + offset; }
};

// Batch copies are recycled: a fresh 100+ KiB allocation is an mmap (glibc's threshold is 128 KiB), so each
// batch would fault its pages in on the JS thread and unmap them, with a TLB flush, on the sender thread.
class BlockPool {
 public:
  ~BlockPool() {
    for (std::string* s : free_) delete s;
  }

  // A block of `n` bytes for `fill(char*)` to write, shared by the requests that point into it.
  template <typename Fill>
  std::shared_ptr<const std::string> Make(size_t n, Fill fill) {
    std::string* s = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        s = free_.back();
        free_.pop_back();
      }
    }
    if (s == nullptr) s = new std::string();
    s->resize(n);
    fill(&(*s)[0]);
    return std::shared_ptr<const std::string>(s, [this](const std::string* done) {
      Recycle(const_cast<std::string*>(done));
    });
  }

 private:
  void Recycle(std::string* s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < kKeep) {
      free_.push_back(s);
    } else {
      delete s;
    }
  }

  static constexpr size_t kKeep = 32;
  std::mutex mu_;
  std::vector<std::string*> free_;
};

// The Host rule (spec §7.2) for an origin-form request whose Host is not kept: where the target's Host value
// goes. Byte for byte what src/protocol/http1/headers.ts setHeader(payload, 'Host', value) produces, so the
// JavaScript side does not scan the head itself:
//  - the scan starts after the first CRLF (the request title, checked by JS) and does not stop at the blank
//    line; a line is up to its LF (a last line without LF is not looked at); its name is the bytes before its
//    first ':' (lines without one are skipped);
//  - the name matches as Go's bytes.EqualFold("Host") does: h, o, s, t in any case, the s also as U+017F
//    (LONG S, C5 BF in UTF-8, which folds to s) — no other code point folds to one of these letters;
//  - the value is trimmed as gor does: it ends 2 bytes before the LF, bytes below 0x21 are dropped from both
//    ends, each loop stopping when one byte would remain;
//  - no such line: "Host: <value>\r\n" is inserted right after the first CRLF (gor's AddHeader);
//  - when that line is in the head (before the first blank line: a line empty before its LF, or only CR),
//    every later Host line of the head is cut, LF included (headers.ts deleteLaterHeaders): gor's Go client
//    writes one Host line, and strict servers answer 400 to two.
// Every read stays inside [0, n).
struct HostEdit {
  size_t start = 0;  // bytes [start, end) are replaced
  size_t end = 0;
  bool insert = false;  // true: insert the whole line at start (end == start)
  bool ok = false;      // false: the payload has no CRLF (nothing to edit)
  // Later Host lines to cut: [drops[2i], drops[2i+1]) pairs after `end`, ascending. Empty (no allocation) for
  // nearly every request.
  std::vector<size_t> drops;
};

inline bool HostName(const uint8_t* p, size_t len) {
  auto is = [](uint8_t c, char lower) { return (c | 0x20) == static_cast<uint8_t>(lower); };
  if (len == 4) return is(p[0], 'h') && is(p[1], 'o') && is(p[2], 's') && is(p[3], 't');
  if (len == 5) return is(p[0], 'h') && is(p[1], 'o') && p[2] == 0xC5 && p[3] == 0xBF && is(p[4], 't');
  return false;
}

// The line p[line, nl] (nl: its LF) ends the head: empty before its LF, or only CR (as Go's parser ends it).
inline bool BlankLine(const uint8_t* p, size_t line, size_t nl) {
  return nl == line || (nl == line + 1 && p[line] == '\r');
}

// The Host lines of the head from p[from] (a line start) to the blank line, each [start, after its LF).
void FindLaterHosts(const uint8_t* p, size_t n, size_t from, std::vector<size_t>* drops) {
  for (size_t line = from; line < n;) {
    const void* lf = memchr(p + line, '\n', n - line);
    if (lf == nullptr) return;
    size_t nl = static_cast<size_t>(static_cast<const uint8_t*>(lf) - p);
    if (BlankLine(p, line, nl)) return;
    if ((p[line] | 0x20) == 'h') {
      const void* colon = memchr(p + line, ':', nl - line);
      size_t c = colon == nullptr ? 0 : static_cast<size_t>(static_cast<const uint8_t*>(colon) - p);
      if (colon != nullptr && HostName(p + line, c - line)) {
        drops->push_back(line);
        drops->push_back(nl + 1);
      }
    }
    line = nl + 1;
  }
}

// `later`: look for later Host lines in the head (a caller that knows there are none passes false: the scan
// then stops at the first Host line).
HostEdit FindHostEdit(const uint8_t* p, size_t n, bool later = true) {
  HostEdit e;
  size_t crlf = 0;
  for (;; crlf++) {
    const void* cr = crlf < n ? memchr(p + crlf, '\r', n - crlf) : nullptr;
    if (cr == nullptr) return e;
    crlf = static_cast<size_t>(static_cast<const uint8_t*>(cr) - p);
    if (crlf + 1 < n && p[crlf + 1] == '\n') break;
  }
  size_t scan = crlf + 2;
  e.ok = true;
  bool in_head = true;
  for (size_t line = scan; line < n;) {
    const void* lf = memchr(p + line, '\n', n - line);
    if (lf == nullptr) break;
    size_t nl = static_cast<size_t>(static_cast<const uint8_t*>(lf) - p);
    if (in_head && BlankLine(p, line, nl)) in_head = false;
    if ((p[line] | 0x20) == 'h') {
      const void* colon = memchr(p + line, ':', nl - line);
      if (colon != nullptr) {
        size_t c = static_cast<size_t>(static_cast<const uint8_t*>(colon) - p);
        if (HostName(p + line, c - line)) {
          // Signed: for an LF-only "Host:" line the value's last byte (nl - 2) is before its first (c + 1).
          long vs = static_cast<long>(c) + 1;
          long ve = static_cast<long>(nl) - 2;
          while (vs < ve && p[vs] < 0x21) vs++;
          while (ve > vs && p[ve] < 0x21) ve--;
          e.start = static_cast<size_t>(vs);
          e.end = static_cast<size_t>(std::max(ve + 1, vs));
          if (later && in_head) FindLaterHosts(p, n, nl + 1, &e.drops);
          return e;
        }
      }
    }
    line = nl + 1;
  }
  e.start = e.end = scan;
  e.insert = true;
  return e;
}

constexpr char kHostLine[] = "Host: ";
constexpr size_t kHostLineLen = sizeof kHostLine - 1;

// The length of a `len`-byte request once `e` is applied with the Host value `host`.
inline size_t EditedLength(size_t len, const HostEdit& e, const std::string& host) {
  if (!e.ok) return len;
  size_t dropped = 0;
  for (size_t i = 0; i + 1 < e.drops.size(); i += 2) dropped += e.drops[i + 1] - e.drops[i];
  return len - (e.end - e.start) + host.size() + (e.insert ? kHostLineLen + 2 : 0) - dropped;
}

// Writes the request with `e` applied to `out` (EditedLength bytes); returns the end.
inline char* WriteEdited(char* out, const char* req, size_t len, const HostEdit& e, const std::string& host) {
  if (!e.ok) {
    memcpy(out, req, len);
    return out + len;
  }
  memcpy(out, req, e.start);
  out += e.start;
  if (e.insert) {
    memcpy(out, kHostLine, kHostLineLen);
    out += kHostLineLen;
  }
  memcpy(out, host.data(), host.size());
  out += host.size();
  if (e.insert) {
    memcpy(out, "\r\n", 2);
    out += 2;
  }
  size_t from = e.end;
  for (size_t i = 0; i + 1 < e.drops.size(); i += 2) {
    memcpy(out, req + from, e.drops[i] - from);
    out += e.drops[i] - from;
    from = e.drops[i + 1];
  }
  memcpy(out, req + from, len - from);
  return out + len - from;
}

// ── Raw runs (src/core/plugin.ts "Raw runs"): .gor records back to back, read here without a JS object each ──
//
// A record: its meta line up to LF ("<type> <id> <timestamp>…"), the payload, then "\n🐵🙈🙉\n". One is sent
// from here only when JavaScript's write() would simply send it: type "1", a payload with gor's request title
// (protocol/http1/title.ts: a known method, two spaces, HTTP/1.0 or 1.1, CRLF), not CONNECT, origin-form,
// at most 4 meta fields, and exactly one simply framed request (FramedWhole).
// Anything else is handed to write() in its place (next[1] in SubmitRun).
constexpr char kSeparator[] = "\n\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\n";
constexpr size_t kSeparatorLen = sizeof kSeparator - 1;

struct RunRecord {
  size_t payload = 0;
  size_t payload_end = 0;
  size_t id = 0;
  size_t id_end = 0;
  size_t next = 0;  // the next record's first byte
  bool head = false;
  int hosts = 0;   // Host lines in the head (FramedWhole)
  double key = 0;  // the timestamp as meta.ts timestampKey() reads it (NaN when not a number)
};

// The first separator at or after p[from] (its first byte), or n. Searched by its second byte (0xF0, which
// HTTP heads do not hold and bodies rarely do) with memchr, then compared whole: the same first occurrence
// as a search for the whole separator.
inline size_t FindSeparator(const uint8_t* p, size_t n, size_t from) {
  for (size_t at = from + 1; at < n;) {
    const void* hit = memchr(p + at, 0xF0, n - at);
    if (hit == nullptr) return n;
    size_t start = static_cast<size_t>(static_cast<const uint8_t*>(hit) - p) - 1;
    if (n - start >= kSeparatorLen && memcmp(p + start, kSeparator, kSeparatorLen) == 0) return start;
    at = start + 2;
  }
  return n;
}

// meta.ts keyFromBytes over p[i, end): the same double arithmetic, step by step (volatile: no fused
// multiply-add, which would round differently past 2^53).
inline double KeyFromBytes(const uint8_t* p, size_t i, size_t end) {
  bool negative = i < end && p[i] == '-';
  if (negative) i++;
  size_t first = i;
  double v = 0;
  for (; i < end; i++) {
    uint8_t c = p[i];
    if (c == ' ') break;
    if (c < '0' || c > '9') return std::numeric_limits<double>::quiet_NaN();
    volatile double tens = v * 10;
    v = tens + static_cast<double>(c - '0');
  }
  if (i == first) return std::numeric_limits<double>::quiet_NaN();
  return negative ? -v : v;
}

// The method of a gor request title at p[0, n) (title.ts requestTitleEnd + gorMethodIndex), as its length,
// with the first space's index in *sp1; 0 when there is no such title.
inline size_t RequestTitleMethod(const uint8_t* p, size_t n, size_t* sp1_out) {
  if (n < 16) return 0;
  long sp1 = -1, sp2 = -1;
  size_t i = 0;
  for (; i + 1 < n; i++) {
    uint8_t c = p[i];
    if (c == ' ') {
      if (sp1 < 0) sp1 = static_cast<long>(i);
      else if (sp2 < 0) sp2 = static_cast<long>(i);
      else return 0;
    } else if (c == '\r' && p[i + 1] == '\n') {
      break;
    }
  }
  if (i + 1 >= n || sp2 < 0) return 0;
  static const char* const kMethods[] = {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"};
  size_t m = static_cast<size_t>(sp1);
  bool known = false;
  for (const char* method : kMethods) known = known || (strlen(method) == m && memcmp(method, p, m) == 0);
  if (!known) return 0;
  size_t v = static_cast<size_t>(sp2) + 1;
  if (i - v != 8 || memcmp(p + v, "HTTP/1.", 7) != 0 || (p[v + 7] != '0' && p[v + 7] != '1')) return 0;
  *sp1_out = m;
  return m;
}

// http-request-frame.ts simpleRequestLength(p[0, n)) == n: a CRLF head ending in a blank line, header lines
// without obs-fold or bare LF, no Transfer-Encoding, at most one plain Content-Length (1–15 digits between
// optional SP/HT), and exactly that many body bytes after the head (none without one). Anything else — bytes
// after the framed end, a body recorded short, chunked — is left to JavaScript, which frames it as gor does.
inline bool NameIs(const uint8_t* p, size_t len, const char* lower) {
  size_t n = strlen(lower);
  if (len != n) return false;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c | 0x20);
    if (c != static_cast<uint8_t>(lower[i])) return false;
  }
  return true;
}

// *hosts: how many of the head's lines are named Host (HostName), for FindHostEdit's `later`.
inline bool FramedWhole(const uint8_t* p, size_t n, int* hosts) {
  const void* lf = memchr(p, '\n', n);
  if (lf == nullptr) return false;
  size_t line = static_cast<size_t>(static_cast<const uint8_t*>(lf) - p) + 1;
  if (line < 2 || p[line - 2] != '\r') return false;
  long length = -1;
  for (;;) {
    if (line + 1 >= n) return false;
    if (p[line] == '\r' && p[line + 1] == '\n') break;  // the blank line
    if (p[line] == ' ' || p[line] == '\t') return false;
    size_t colon = 0;
    size_t eol = line;
    for (; eol < n; eol++) {
      uint8_t c = p[eol];
      if (c == '\r') break;
      if (c == '\n') return false;
      if (c == ':' && colon == 0) colon = eol;
    }
    if (eol + 1 >= n || p[eol + 1] != '\n' || colon <= line) return false;
    if (NameIs(p + line, colon - line, "content-length")) {
      if (length != -1) return false;
      size_t s = colon + 1, e = eol;
      while (s < e && (p[s] == ' ' || p[s] == '\t')) s++;
      while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t')) e--;
      if (e == s || e - s > 15) return false;
      length = 0;
      for (size_t i = s; i < e; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        length = length * 10 + (p[i] - '0');
      }
    } else if (NameIs(p + line, colon - line, "transfer-encoding")) {
      return false;
    } else if (HostName(p + line, colon - line)) {
      ++*hosts;
    }
    line = eol + 2;
  }
  size_t end = line + 2 + static_cast<size_t>(std::max(0L, length));
  return end == n;
}

enum RunParse { kUnframed, kSendable, kForJs };

// The record at p[at, n): kSendable when this addon sends it itself (see above), kForJs when it is a whole
// record JavaScript must write (r->next is still set), kUnframed when no whole record starts there.
inline RunParse ParseRunRecord(const uint8_t* p, size_t n, size_t at, RunRecord* r) {
  if (at >= n) return kUnframed;
  const void* lf = memchr(p + at, '\n', n - at);
  if (lf == nullptr) return kUnframed;
  size_t line_end = static_cast<size_t>(static_cast<const uint8_t*>(lf) - p);
  size_t payload = line_end + 1;
  size_t payload_end = FindSeparator(p, n, payload);
  if (payload_end + kSeparatorLen > n) return kUnframed;
  r->next = payload_end + kSeparatorLen;
  // meta.ts parseMetaBytes: type = up to the first space ("1"), id = up to the next space (not empty).
  if (line_end - at < 2 || p[at] != '1' || p[at + 1] != ' ') return kForJs;
  size_t id = at + 2;
  const void* sp = memchr(p + id, ' ', line_end - id);
  if (sp == nullptr) return kForJs;
  size_t id_end = static_cast<size_t>(static_cast<const uint8_t*>(sp) - p);
  if (id_end == id) return kForJs;
  size_t sp1 = 0;
  size_t m = RequestTitleMethod(p + payload, payload_end - payload, &sp1);
  if (m == 0 || (m == 7 && memcmp(p + payload, "CONNECT", 7) == 0)) return kForJs;
  if (p[payload + sp1 + 1] != '/') return kForJs;  // not origin-form: JS adapts it
  // Extra meta fields (an `incomplete=REASON` mark: JS does not send such a record) or a payload that is not
  // exactly one framed request (JS cuts what follows it, or skips a request recorded short).
  if (const void* sp3 = memchr(p + id_end + 1, ' ', line_end - id_end - 1)) {
    size_t after = static_cast<size_t>(static_cast<const uint8_t*>(sp3) - p) + 1;
    if (memchr(p + after, ' ', line_end - after) != nullptr) return kForJs;
  }
  r->hosts = 0;
  if (!FramedWhole(p + payload, payload_end - payload, &r->hosts)) return kForJs;
  r->payload = payload;
  r->payload_end = payload_end;
  r->id = id;
  r->id_end = id_end;
  r->head = m == 4 && memcmp(p + payload, "HEAD", 4) == 0;
  r->key = KeyFromBytes(p, id_end + 1, line_end);
  return kSendable;
}

struct Result {
  double seq;
  int status;
  int reason;
  double wall_ms;
  double latency_ms;
  double bytes;
  bool truncated;
  std::string kept;
  std::string detail;
  std::string id;  // a raw run's request, when it failed
};

struct Conn {
  uint32_t index = 0;
  uint32_t gen = 0;
  int fd = -1;
  bool connecting = false;
  bool want_out = false;
  bool busy = false;
  bool live = true;
  Request req;
  size_t written = 0;
  ResponseFramer framer;
  double started = 0;
  double wall = 0;
  double deadline = 0;
  double last_used = 0;
  uint64_t bytes = 0;
  uint64_t msg_bytes = 0;
  std::string kept;
  bool reused = false;
  bool retried = false;
  // A socket was opened for this connection before: the next one is a reopening (counted).
  bool opened_once = false;
  size_t addr = 0;
};

struct Options {
  std::string host;
  int port = 80;
  int max_conns = 64;
  int min_conns = 1;
  double timeout_ms = 5000;
  double worker_timeout_ms = 2000;
  size_t keep_bytes = 0;
  // The target's Host value, for the edits submit() makes.
  std::string host_header;
};

class Sender : public Napi::ObjectWrap<Sender> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "HttpSender",
                       {InstanceMethod("submit", &Sender::Submit), InstanceMethod("submitRun", &Sender::SubmitRun), InstanceMethod("stats", &Sender::Stats),
                        InstanceMethod("ref", &Sender::RefLoop), InstanceMethod("unref", &Sender::UnrefLoop),
                        InstanceMethod("close", &Sender::Close)});
  }

  explicit Sender(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sender>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "HttpSender(options, onResults)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    opt_.host = o.Get("host").ToString().Utf8Value();
    opt_.port = o.Get("port").ToNumber().Int32Value();
    opt_.max_conns = std::max(1, o.Get("maxConns").ToNumber().Int32Value());
    opt_.min_conns = std::min(opt_.max_conns, std::max(0, o.Get("minConns").ToNumber().Int32Value()));
    opt_.timeout_ms = o.Get("timeoutMs").ToNumber().DoubleValue();
    opt_.worker_timeout_ms = o.Get("workerTimeoutMs").ToNumber().DoubleValue();
    opt_.keep_bytes = static_cast<size_t>(std::max(0.0, o.Get("keepBytes").ToNumber().DoubleValue()));
    Napi::Value host_header = o.Get("hostHeader");
    if (host_header.IsBuffer()) {
      auto h = host_header.As<Napi::Buffer<char>>();
      opt_.host_header.assign(h.Data(), h.Length());
    }
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epfd_ < 0 || evfd_ < 0) {
      Napi::Error::New(env, std::string("epoll/eventfd: ") + strerror(errno)).ThrowAsJavaScriptException();
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeTag;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
    for (int i = 0; i < opt_.min_conns; i++) idle_.push_back(NewConn());
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "tapline_http", 0, 1, this,
                                          [](Napi::Env, Sender* self) { self->Unref(); });
    tsfn_.Unref(env);
    Ref();  // alive until the threadsafe function is released (close)
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "tapline-http");
      Run();
    });
  }

  ~Sender() override { Stop(); }

 private:
  // ── JS thread ──────────────────────────────────────────────────────────────────────────────────────────

  // submit(buffer, offsets: Int32Array(n+1), heads: Uint8Array(n), firstSeq, n[, cuts: Int32Array(2n)])
  // cuts[2i], cuts[2i+1]: bytes [start, end) of request i (relative to it) to send as the target's Host value
  // instead (the Host edit, made here in the copy); kFindHost (-2): find them here (FindHostEdit: the Host
  // rule for an origin-form request, the header inserted when absent); -1 for none.
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsBuffer() || !info[1].IsTypedArray() || !info[2].IsTypedArray()) {
      Napi::TypeError::New(env, "submit(buffer, offsets, heads, firstSeq, n)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    auto offsets = info[1].As<Napi::Int32Array>();
    auto heads = info[2].As<Napi::Uint8Array>();
    double seq = info[3].ToNumber().DoubleValue();
    size_t n = info[4].ToNumber().Uint32Value();
    if (n + 1 > offsets.ElementLength() || n > heads.ElementLength()) {
      Napi::RangeError::New(env, "submit: n exceeds the offsets or heads").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (n == 0) return env.Undefined();
    const int32_t* cuts = nullptr;
    if (info.Length() > 5 && info[5].IsTypedArray()) {
      auto c = info[5].As<Napi::Int32Array>();
      if (c.ElementLength() < 2 * n) {
        Napi::RangeError::New(env, "submit: cuts shorter than 2n").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      cuts = c.Data();
    }
    const std::string& host = opt_.host_header;
    const uint8_t* src = buf.Data();
    // Each request's edit, in request-relative offsets (no edit: start == end == 0, nothing inserted).
    std::vector<HostEdit> edits(n);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
      int32_t a = offsets[i], b = offsets[i + 1];
      if (a < 0 || b < a || static_cast<size_t>(b) > buf.Length()) {
        Napi::RangeError::New(env, "submit: offsets out of range").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      size_t len = static_cast<size_t>(b - a);
      HostEdit& e = edits[i];
      if (cuts != nullptr && cuts[2 * i] >= 0) {
        int32_t cs = cuts[2 * i], ce = cuts[2 * i + 1];
        if (ce < cs || static_cast<size_t>(ce) > len) {
          Napi::RangeError::New(env, "submit: cut out of range").ThrowAsJavaScriptException();
          return env.Undefined();
        }
        e.start = static_cast<size_t>(cs);
        e.end = static_cast<size_t>(ce);
        e.ok = true;
      } else if (cuts != nullptr && cuts[2 * i] == kFindHost) {
        e = FindHostEdit(src + a, len);
      }
      total += EditedLength(len, e, host);
    }
    std::vector<Piece> pieces(n);
    for (size_t i = 0; i < n; i++) {
      Piece& piece = pieces[i];
      piece.src = reinterpret_cast<const char*>(src) + offsets[i];
      piece.len = static_cast<size_t>(offsets[i + 1] - offsets[i]);
      piece.edit = edits[i];
      piece.head = heads[i] != 0;
    }
    Enqueue(pieces, total, seq);
    return env.Undefined();
  }

  // One request to copy into a batch: its bytes, the Host edit to make, and (raw runs) its id.
  struct Piece {
    const char* src = nullptr;
    size_t len = 0;
    HostEdit edit;
    bool head = false;
    const char* id = nullptr;
    size_t id_len = 0;
  };

  // Copies `pieces` (`total` bytes once edited, ids included) into one block and hands them to the thread.
  void Enqueue(const std::vector<Piece>& pieces, size_t total, double seq) {
    size_t n = pieces.size();
    const std::string& host = opt_.host_header;
    std::vector<Request> batch(n);
    auto bytes = blocks_.Make(total, [&](char* out) {
      size_t at = 0;
      for (size_t i = 0; i < n; i++) {
        const Piece& piece = pieces[i];
        batch[i].offset = at;
        at = static_cast<size_t>(WriteEdited(out + at, piece.src, piece.len, piece.edit, host) - out);
        batch[i].length = at - batch[i].offset;
        if (piece.id_len > 0) memcpy(out + at, piece.id, piece.id_len);
        at += piece.id_len;
        batch[i].id_len = static_cast<uint32_t>(piece.id_len);
      }
    });
    for (size_t i = 0; i < n; i++) {
      batch[i].batch = bytes;
      batch[i].head = pieces[i].head;
      batch[i].seq = seq + static_cast<double>(i);
    }
    bool wake;
    {
      // O(1) under the lock: the sender thread may be preempted while it holds it (2 cores, busy).
      std::lock_guard<std::mutex> lock(in_mu_);
      wake = in_.empty();
      in_.push_back(std::move(batch));
      in_count_.store(in_.size());
    }
    // Waking the thread costs a cross-CPU wake-up (an IPI, a VM exit on a VM). It is needed only when a
    // connection could take the requests now; with every connection busy the thread looks at in_ after the
    // next answer (and at least every 5 ms while anything is in flight).
    if (wake && busy_.load() < opt_.max_conns) Wake();
  }

  // submitRun(part, from, max, firstSeq, keys: Float64Array, next: Float64Array(2)) → count: sends the
  // records of `part` (whole .gor records back to back) from byte `from`, at most `max` (and keys' length),
  // with the Host rule applied (kFindHost), numbered from firstSeq. keys[i]: record i's timestamp key;
  // next[0]: the byte after the last one sent. It stops early before a record JavaScript must write
  // (next[1]: the byte after that record) or one that is not whole (next[1] = -2); else next[1] = -1.
  Napi::Value SubmitRun(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 6 || !info[0].IsBuffer() || !info[4].IsTypedArray() || !info[5].IsTypedArray()) {
      Napi::TypeError::New(env, "submitRun(part, from, max, firstSeq, keys, next)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto part = info[0].As<Napi::Buffer<uint8_t>>();
    double from_d = info[1].ToNumber().DoubleValue();
    double max_d = info[2].ToNumber().DoubleValue();
    double seq = info[3].ToNumber().DoubleValue();
    auto keys = info[4].As<Napi::Float64Array>();
    auto next = info[5].As<Napi::Float64Array>();
    const uint8_t* p = part.Data();
    size_t n = part.Length();
    if (!(from_d >= 0) || from_d > static_cast<double>(n) || next.ElementLength() < 2) {
      Napi::RangeError::New(env, "submitRun: from out of range").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    size_t at = static_cast<size_t>(from_d);
    size_t max = std::min(static_cast<size_t>(std::max(0.0, std::min(max_d, 1e9))), keys.ElementLength());
    const std::string& host = opt_.host_header;
    std::vector<Piece> pieces;
    pieces.reserve(max);
    size_t total = 0;
    RunRecord r;
    double stop = -1;
    while (pieces.size() < max && at < n) {
      RunParse parsed = ParseRunRecord(p, n, at, &r);
      if (parsed != kSendable) {
        stop = parsed == kForJs ? static_cast<double>(r.next) : -2;
        break;
      }
      Piece piece;
      piece.src = reinterpret_cast<const char*>(p) + r.payload;
      piece.len = r.payload_end - r.payload;
      // FramedWhole has read the head: a second Host line is looked for only when it saw one.
      piece.edit = FindHostEdit(p + r.payload, piece.len, r.hosts > 1);
      piece.head = r.head;
      piece.id = reinterpret_cast<const char*>(p) + r.id;
      piece.id_len = r.id_end - r.id;
      total += EditedLength(piece.len, piece.edit, host) + piece.id_len;
      keys[pieces.size()] = r.key;
      pieces.push_back(piece);
      at = r.next;
    }
    next[0] = static_cast<double>(at);
    next[1] = stop;
    if (!pieces.empty()) Enqueue(pieces, total, seq);
    return Napi::Number::New(env, static_cast<double>(pieces.size()));
  }

  // [connections, opened, retired, busy, CPU ms of the sender thread, unsolicited answers, requests resent on a
  // new connection, connections reopened]
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array a = Napi::Array::New(env, 8);
    a.Set(7u, Napi::Number::New(env, static_cast<double>(reopened_.load())));
    a.Set(6u, Napi::Number::New(env, static_cast<double>(resent_.load())));
    a.Set(5u, Napi::Number::New(env, static_cast<double>(unsolicited_.load())));
    a.Set(4u, Napi::Number::New(env, thread_cpu_ms_.load()));
    a.Set(0u, Napi::Number::New(env, total_.load()));
    a.Set(1u, Napi::Number::New(env, static_cast<double>(opened_.load())));
    a.Set(2u, Napi::Number::New(env, static_cast<double>(retired_.load())));
    a.Set(3u, Napi::Number::New(env, busy_.load()));
    return a;
  }

  // While requests are outstanding the process must not exit: JS refs the results callback then.
  Napi::Value RefLoop(const Napi::CallbackInfo& info) {
    if (!closed_) tsfn_.Ref(info.Env());
    return info.Env().Undefined();
  }
  Napi::Value UnrefLoop(const Napi::CallbackInfo& info) {
    if (!closed_) tsfn_.Unref(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (!closed_) {
      closed_ = true;
      Stop();
      tsfn_.Release();
    }
    return info.Env().Undefined();
  }

  void Stop() {
    if (thread_.joinable()) {
      stop_ = true;
      Wake();
      thread_.join();
    }
    for (auto& c : conns_) {
      if (c->fd >= 0) close(c->fd);
      c->fd = -1;
    }
    if (epfd_ >= 0) close(epfd_);
    if (evfd_ >= 0) close(evfd_);
    epfd_ = evfd_ = -1;
  }

  void Wake() {
    uint64_t one = 1;
    ssize_t w = write(evfd_, &one, sizeof one);
    (void)w;
  }

  // Runs on the JS thread: hands every result waiting in out_ to JS in one call.
  static void Deliver(Napi::Env env, Napi::Function fn, Sender* self) {
    if (static_cast<napi_env>(env) == nullptr) return;
    std::vector<Result> results;
    {
      std::lock_guard<std::mutex> lock(self->out_mu_);
      results.swap(self->out_);
      self->call_pending_ = false;
    }
    if (results.empty()) return;
    size_t n = results.size();
    Napi::Float64Array fields = Napi::Float64Array::New(env, n * kFields);
    Napi::Value kept = env.Null();
    Napi::Value details = env.Null();
    Napi::Value ids = env.Null();
    for (size_t i = 0; i < n; i++) {
      const Result& r = results[i];
      double* f = fields.Data() + i * kFields;
      f[0] = r.seq;
      f[1] = r.status;
      f[2] = r.reason;
      f[3] = r.wall_ms;
      f[4] = r.latency_ms;
      f[5] = r.bytes;
      f[6] = r.truncated ? 1 : 0;
      if (self->opt_.keep_bytes > 0 && r.reason == kOk) {
        if (kept.IsNull()) kept = Napi::Array::New(env, n);
        kept.As<Napi::Array>().Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, r.kept.data(), r.kept.size()));
      }
      if (r.reason != kOk) {
        if (details.IsNull()) details = Napi::Array::New(env, n);
        details.As<Napi::Array>().Set(static_cast<uint32_t>(i), Napi::String::New(env, r.detail));
        if (!r.id.empty()) {
          if (ids.IsNull()) ids = Napi::Array::New(env, n);
          ids.As<Napi::Array>().Set(static_cast<uint32_t>(i), Napi::String::New(env, r.id));
        }
      }
    }
    fn.Call({fields, Napi::Number::New(env, static_cast<double>(n)), kept, details, ids});
  }

  // ── sender thread ──────────────────────────────────────────────────────────────────────────────────────

  Conn* NewConn() {
    Conn* c;
    if (!free_.empty()) {
      c = free_.back();
      free_.pop_back();
    } else {
      conns_.push_back(std::make_unique<Conn>());
      c = conns_.back().get();
      c->index = static_cast<uint32_t>(conns_.size() - 1);
    }
    c->live = true;
    c->opened_once = false;
    c->last_used = NowMs(CLOCK_MONOTONIC);
    total_++;
    opened_++;
    return c;
  }

  void Run() {
    std::vector<epoll_event> events(256);
    std::deque<Request> pending;
    double next_sweep = 0;
    double next_cpu = 0;
    double next_retire = NowMs(CLOCK_MONOTONIC) + opt_.worker_timeout_ms;
    while (!stop_) {
      int wait_ms = !results_.empty() ? 1 : busy_.load() > 0 ? 5 : 50;
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), wait_ms);
      for (int i = 0; i < n; i++) {
        uint64_t tag = events[i].data.u64;
        if (tag == kWakeTag) {
          uint64_t v;
          ssize_t r = read(evfd_, &v, sizeof v);
          (void)r;
          continue;
        }
        Conn* c = conns_[static_cast<uint32_t>(tag)].get();
        if (c->gen != static_cast<uint32_t>(tag >> 32) || c->fd < 0) continue;  // an event of a closed socket
        OnEvent(c, events[i].events);
      }
      if (in_count_.load() > 0) {
        std::vector<std::vector<Request>> batches;
        {
          std::lock_guard<std::mutex> lock(in_mu_);
          batches.swap(in_);
          in_count_.store(0);
        }
        for (auto& b : batches) {
          for (auto& r : b) pending.push_back(std::move(r));
        }
      }
      now_ = NowMs(CLOCK_MONOTONIC);
      if (now_ >= next_cpu) {
        // The thread's CPU clock is a real system call (not vDSO): read every 10 ms, and once at the end.
        thread_cpu_ms_.store(NowMs(CLOCK_THREAD_CPUTIME_ID));
        next_cpu = now_ + 10;
      }
      Dispatch(pending);
      if (now_ >= next_sweep) {
        next_sweep = now_ + std::min(50.0, std::max(5.0, opt_.timeout_ms / 4));
        for (auto& c : conns_) {
          if (c->busy && now_ >= c->deadline) {
            Fail(c.get(), kTimeout, TimeoutDetail(*c));
          }
        }
        Dispatch(pending);
      }
      if (now_ >= next_retire) {
        next_retire = now_ + opt_.worker_timeout_ms;
        if (pending.empty()) Retire();
      }
      // Results go to JS in batches: each hand-over wakes the JS thread, which at full speed is usually
      // waiting for room in the queue. A batch is kPublishBatch results, or whatever there is after
      // kPublishDelayMs, or at once when nothing else is in flight (a drain must not wait).
      if (!results_.empty()) {
        if (first_result_ms_ == 0) first_result_ms_ = now_;
        if (results_.size() >= kPublishBatch || now_ - first_result_ms_ >= kPublishDelayMs ||
            (busy_.load() == 0 && pending.empty())) {
          Publish();
          first_result_ms_ = 0;
        }
      }
    }
    thread_cpu_ms_.store(NowMs(CLOCK_THREAD_CPUTIME_ID));
  }

  void Dispatch(std::deque<Request>& pending) {
    while (!pending.empty()) {
      Conn* c;
      if (!idle_.empty()) {
        c = idle_.back();
        idle_.pop_back();
      } else if (total_.load() < opt_.max_conns) {
        c = NewConn();
      } else {
        return;
      }
      c->req = std::move(pending.front());
      pending.pop_front();
      c->busy = true;
      busy_++;
      c->started = NowMs(CLOCK_MONOTONIC);
      c->wall = NowMs(CLOCK_REALTIME);
      c->deadline = c->started + opt_.timeout_ms;
      c->retried = false;
      Attempt(c);
    }
  }

  void Retire() {
    for (size_t i = 0; i < idle_.size() && total_.load() > opt_.min_conns;) {
      Conn* c = idle_[i];
      if (now_ - c->last_used >= opt_.worker_timeout_ms) {
        idle_.erase(idle_.begin() + static_cast<long>(i));
        CloseFd(c);
        c->live = false;
        free_.push_back(c);
        total_--;
        retired_++;
      } else {
        i++;
      }
    }
  }

  void Attempt(Conn* c) {
    c->reused = c->fd >= 0;
    c->bytes = 0;
    c->msg_bytes = 0;
    c->kept.clear();
    c->written = 0;
    c->framer.Start(c->req.head);
    if (c->fd < 0) {
      if (c->opened_once) reopened_++;
      c->opened_once = true;
      c->addr = good_addr_;
      if (!Connect(c)) return;
      if (c->connecting) return;
    }
    WriteSome(c);
  }

  bool Resolve(std::string* detail) {
    if (!addrs_.empty()) return true;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(opt_.port);
    int rc = getaddrinfo(opt_.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
      std::string code = rc == EAI_AGAIN ? "EAI_AGAIN" : rc == EAI_FAIL ? "EAI_FAIL" : "ENOTFOUND";
      *detail = code + " getaddrinfo " + code + " " + opt_.host;
      return false;
    }
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      sockaddr_storage s{};
      memcpy(&s, a->ai_addr, std::min(sizeof s, static_cast<size_t>(a->ai_addrlen)));
      addrs_.push_back(std::make_pair(s, a->ai_addrlen));
    }
    freeaddrinfo(res);
    return !addrs_.empty();
  }

  std::string AddrText(size_t i) const {
    char text[INET6_ADDRSTRLEN] = "?";
    const sockaddr_storage& s = addrs_[i].first;
    if (s.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(s).sin_addr, text, sizeof text);
    if (s.ss_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(s).sin6_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(opt_.port);
  }

  // Opens c's socket; false when the attempt already ended (failure reported).
  bool Connect(Conn* c) {
    std::string detail;
    if (!Resolve(&detail)) {
      Complete(c, kDns, 0, detail);
      return false;
    }
    if (c->addr >= addrs_.size()) c->addr = 0;
    const auto& a = addrs_[c->addr];
    int fd = socket(a.first.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      int e = errno;
      Complete(c, kConnectFailed, 0, ErrName(e) + " socket " + ErrName(e));
      return false;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->gen++;
    c->connecting = false;
    int rc = connect(fd, reinterpret_cast<const sockaddr*>(&a.first), a.second);
    if (rc != 0 && errno != EINPROGRESS) return ConnectFailed(c, errno);
    c->connecting = rc != 0;
    c->want_out = c->connecting;
    epoll_event ev{};
    ev.events = EPOLLIN | (c->want_out ? static_cast<uint32_t>(EPOLLOUT) : 0u);
    ev.data.u64 = (static_cast<uint64_t>(c->gen) << 32) | c->index;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    return true;
  }

  // The connection could not be made: the next address if there is one, else the request fails.
  bool ConnectFailed(Conn* c, int err) {
    CloseFd(c);
    if (c->addr + 1 < addrs_.size()) {
      c->addr++;
      return Connect(c) && (c->connecting || (WriteSome(c), false));
    }
    Complete(c, err == ECONNREFUSED ? kRefused : kConnectFailed, 0,
             ErrName(err) + " connect " + ErrName(err) + " " + AddrText(c->addr));
    return false;
  }

  void SetWantOut(Conn* c, bool want) {
    if (c->want_out == want) return;
    c->want_out = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? static_cast<uint32_t>(EPOLLOUT) : 0u);
    ev.data.u64 = (static_cast<uint64_t>(c->gen) << 32) | c->index;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  void WriteSome(Conn* c) {
    const char* b = c->req.data();
    size_t size = c->req.length;
    while (c->written < size) {
      ssize_t w = send(c->fd, b + c->written, size - c->written, MSG_NOSIGNAL);
      if (w > 0) {
        c->written += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        SetWantOut(c, true);
        return;
      }
      int e = w < 0 ? errno : EPIPE;
      if ((e == EPIPE || e == ECONNRESET) && AnswerBeforeReset(c)) return;
      Fail(c, e == EPIPE || e == ECONNRESET ? kReset : kConnectFailed, ErrName(e) + " write " + ErrName(e));
      return;
    }
    SetWantOut(c, false);
  }

  // A write failed with EPIPE/ECONNRESET: the target stopped reading, maybe after it answered (a 413 to a large
  // upload, then a close that reset the connection because the rest of the body was unread). That answer is
  // still in the socket's receive queue: it is the exchange's result, as Go's transport reports it, not a
  // reset. True when the exchange ended so (answered, or a bad answer).
  bool AnswerBeforeReset(Conn* c) {
    for (int i = 0; i < 4096 && c->busy && c->fd >= 0; i++) {
      ssize_t r = recv(c->fd, read_buf_, kReadSize, MSG_DONTWAIT);
      if (r > 0) {
        OnBytes(c, reinterpret_cast<const uint8_t*>(read_buf_), static_cast<size_t>(r));
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r == 0 && c->bytes > 0 && c->framer.Finish() == ResponseFramer::DONE) Succeed(c, true);
      break;
    }
    return !c->busy;
  }

  void OnEvent(Conn* c, uint32_t events) {
    if (c->connecting) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        ConnectFailed(c, err);
        return;
      }
      c->connecting = false;
      good_addr_ = c->addr;
      if (c->busy) WriteSome(c);
      if (c->fd < 0) return;
    } else if ((events & EPOLLOUT) && c->want_out && c->busy) {
      WriteSome(c);
      if (c->fd < 0) return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ReadSome(c);
  }

  void ReadSome(Conn* c) {
    ssize_t r = recv(c->fd, read_buf_, kReadSize, 0);
    if (r > 0) {
      if (!c->busy) {
        // Bytes nobody asked for: this connection can no longer be trusted to frame. Counted unless they are
        // only line ends or a 408 (a server closing an idle keep-alive connection says so; Go is quiet too).
        if (!IdleNotice(reinterpret_cast<const uint8_t*>(read_buf_), static_cast<size_t>(r))) unsolicited_++;
        CloseFd(c);
        return;
      }
      OnBytes(c, reinterpret_cast<const uint8_t*>(read_buf_), static_cast<size_t>(r));
      return;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    int e = r < 0 ? errno : 0;
    if (!c->busy) {
      CloseFd(c);
      return;
    }
    if (e == 0) {
      if (c->framer.Finish() == ResponseFramer::DONE) {
        Succeed(c, true);
      } else {
        Fail(c, kClosed, "the target closed the connection before a complete response");
      }
      return;
    }
    Fail(c, e == ECONNRESET || e == EPIPE ? kReset : kConnectFailed, ErrName(e) + " read " + ErrName(e));
  }

  void OnBytes(Conn* c, const uint8_t* p, size_t n) {
    c->bytes += n;
    size_t off = 0;
    for (;;) {
      size_t used = 0;
      ResponseFramer::Step s = c->framer.Feed(p + off, n - off, &used);
      if (used > n - off) used = n - off;  // defensive: never past the read
      c->msg_bytes += used;
      if (c->kept.size() < opt_.keep_bytes) {
        size_t room = opt_.keep_bytes - c->kept.size();
        c->kept.append(reinterpret_cast<const char*>(p + off), used < room ? used : room);
      }
      off += used;
      switch (s) {
        case ResponseFramer::NEED_MORE:
          return;
        case ResponseFramer::INTERIM:
          c->kept.clear();
          c->msg_bytes = 0;
          if (off >= n) return;
          continue;
        case ResponseFramer::BAD: {
          Fail(c, kBad, BadResponseDetail(c->framer.error()));
          return;
        }
        case ResponseFramer::DONE:
          // More than the response came (a second answer): dropped and the connection closed, as Go does.
          // After a 101, what follows is the new protocol's, not an answer.
          if (off < n && !OnlyLineEnds(p + off, n - off) && c->framer.status() != 101) unsolicited_++;
          // An answer that came before the whole request was written (a 413 to a large upload): the target
          // still expects the rest of that body, so the next request cannot go on this connection (Go does
          // not reuse it either).
          // A request that said it is the last (Connection: close, HTTP/1.0 without keep-alive): the target may
          // close after its answer without saying so, so the next request goes on a new connection (Go: Request.Close).
          Succeed(c, c->framer.close_after() || off < n || c->written < c->req.length || RequestCloses(c->req));
          return;
      }
    }
  }

  // Why a response still incomplete is waiting (the words of http-connection.ts UNTIL_CLOSE_WHY).
  static constexpr const char* kUntilCloseWhy =
      ": its body has no length (no Content-Length, or a Transfer-Encoding that does not end in chunked), so it "
      "ends only when the target closes the connection, and the target kept it open";

  // Where the exchange stood when its time ran out (the words of http-connection.ts timeoutDetail): a
  // connection never made, a target that does not read, one that does not answer and a slow answer are
  // looked for in different places.
  std::string TimeoutDetail(const Conn& c) const {
    std::string t = std::to_string(static_cast<long>(opt_.timeout_ms)) + "ms";
    if (c.connecting) return "no connection to the target within " + t;
    if (c.bytes == 0 && c.written < c.req.length) return "the target did not take the whole request within " + t;
    if (c.bytes == 0) return "no response within " + t;
    if (c.framer.idle())
      return "no final response within " + t + ", only interim answers or blank lines (" + std::to_string(c.bytes) +
             " bytes)";
    return "the response was still incomplete after " + t + ", " + std::to_string(c.bytes) + " bytes received" +
           (c.framer.until_close() ? kUntilCloseWhy : "");
  }

  static bool OnlyLineEnds(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i++)
      if (p[i] != '\r' && p[i] != '\n') return false;
    return true;
  }

  // As http-connection.ts isIdleNotice: line ends, or a 408 status line.
  static bool IdleNotice(const uint8_t* p, size_t n) {
    if (OnlyLineEnds(p, n)) return true;
    return n >= 13 && (memcmp(p, "HTTP/1.1 408 ", 13) == 0 || memcmp(p, "HTTP/1.0 408 ", 13) == 0);
  }

  // The words of http-connection.ts BAD_RESPONSE_DETAILS (both clients say the same).
  static std::string BadResponseDetail(const char* why) {
    if (why == nullptr || strcmp(why, "malformed") == 0)
      return "the response body is chunked with a bad chunk-size line or chunk end";
    if (strcmp(why, "garbage") == 0) return "the target answered with bytes that are not HTTP";
    if (strcmp(why, "max-size") == 0) return "the response head (status line and headers) is over 64 KiB";
    if (strcmp(why, "bad-length") == 0) return "the response's Content-Length is not a number, or it has several that differ";
    return std::string("the response is broken (") + why + ")";
  }

  void CloseFd(Conn* c) {
    if (c->fd >= 0) {
      epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
      close(c->fd);
    }
    c->fd = -1;
    c->connecting = false;
    c->want_out = false;
  }

  void Fail(Conn* c, int reason, const std::string& detail) {
    if (!c->busy) return;
    CloseFd(c);
    double now = NowMs(CLOCK_MONOTONIC);
    if ((reason == kReset || reason == kClosed) && c->reused && !c->retried && c->bytes == 0 && now < c->deadline &&
        (c->written == 0 || Replayable(c->req))) {
      // The server closed an idle keep-alive connection as we wrote: once more on a fresh connection.
      c->retried = true;
      resent_++;
      Attempt(c);
      return;
    }
    Complete(c, reason, 0, detail);
  }

  // A request that may be sent again once the target has read it (or part of it) and closed without an answer:
  // as Go's transport (Request.isReplayable), an idempotent method or an Idempotency-Key / X-Idempotency-Key
  // header; a POST the target may have acted on is not sent twice. One not written at all always may (Go's
  // nothingWrittenError). The same rule as http-connection.ts replayable().
  static bool Replayable(const Request& req) {
    const char* p = req.data();
    size_t n = req.length;
    for (const char* m : {"GET ", "HEAD ", "OPTIONS ", "TRACE "}) {
      size_t k = strlen(m);
      if (n >= k && memcmp(p, m, k) == 0) return true;
    }
    static const char* const kKeys[] = {"\r\nidempotency-key:", "\r\nx-idempotency-key:"};
    for (size_t i = 0; i + 4 <= n; i++) {
      if (memcmp(p + i, "\r\n\r\n", 4) == 0) break;
      if (p[i] != '\r') continue;
      for (const char* key : kKeys) {
        size_t k = strlen(key);
        if (i + k <= n && strncasecmp(p + i, key, k) == 0) return true;
      }
    }
    return false;
  }

  // The request ends its connection, as Go's shouldClose says of a request: a Connection field of its head lists
  // `close`, or its request line ends in HTTP/1.0 and none lists `keep-alive`. The same rule as
  // http-connection.ts requestClosesConnection().
  static bool RequestCloses(const Request& req) {
    const char* p = req.data();
    size_t n = req.length;
    const char* lf = static_cast<const char*>(memchr(p, '\n', n));
    if (lf == nullptr) return false;
    size_t line_end = static_cast<size_t>(lf - p);
    if (line_end > 0 && p[line_end - 1] == '\r') line_end--;
    bool close = line_end >= 8 && memcmp(p + line_end - 8, "HTTP/1.0", 8) == 0;
    for (size_t i = static_cast<size_t>(lf - p) + 1; i < n;) {
      const char* next = static_cast<const char*>(memchr(p + i, '\n', n - i));
      size_t e = next == nullptr ? n : static_cast<size_t>(next - p);
      if (e == i || (e == i + 1 && p[i] == '\r')) break;  // the blank line: the head ends
      if (e - i > 11 && strncasecmp(p + i, "connection:", 11) == 0) {
        for (size_t t = i + 11; t < e;) {
          while (t < e && (p[t] == ' ' || p[t] == '\t' || p[t] == ',' || p[t] == '\r')) t++;
          size_t s = t;
          while (t < e && p[t] != ',' && p[t] != '\r') t++;
          size_t te = t;
          while (te > s && (p[te - 1] == ' ' || p[te - 1] == '\t')) te--;
          if (te - s == 5 && strncasecmp(p + s, "close", 5) == 0) return true;
          if (te - s == 10 && strncasecmp(p + s, "keep-alive", 10) == 0) close = false;
        }
      }
      i = e + 1;
    }
    return close;
  }

  void Succeed(Conn* c, bool close_after) {
    if (close_after) CloseFd(c);
    Complete(c, kOk, c->framer.status(), std::string());
  }

  void Complete(Conn* c, int reason, int status, const std::string& detail) {
    if (!c->busy) return;
    double now = NowMs(CLOCK_MONOTONIC);
    Result r;
    r.seq = c->req.seq;
    r.status = status;
    r.reason = reason;
    r.wall_ms = c->wall;
    r.latency_ms = now - c->started;
    r.bytes = static_cast<double>(c->bytes);
    r.truncated = reason == kOk && c->msg_bytes > c->kept.size() && opt_.keep_bytes > 0;
    if (reason == kOk && opt_.keep_bytes > 0) r.kept.swap(c->kept);
    r.detail = detail;
    if (reason != kOk && c->req.id_len > 0) r.id.assign(c->req.data() + c->req.length, c->req.id_len);
    results_.push_back(std::move(r));
    c->kept.clear();
    c->busy = false;
    busy_--;
    c->req.batch.reset();
    c->last_used = now;
    idle_.push_back(c);
  }

  void Publish() {
    if (results_.empty()) return;
    bool call;
    {
      std::lock_guard<std::mutex> lock(out_mu_);
      if (out_.empty()) {
        out_.swap(results_);
      } else {
        for (auto& r : results_) out_.push_back(std::move(r));
      }
      results_.clear();
      call = !call_pending_;
      call_pending_ = true;
    }
    if (call) {
      napi_status st = tsfn_.NonBlockingCall(this, [](Napi::Env env, Napi::Function fn, Sender* self) {
        Deliver(env, fn, self);
      });
      if (st != napi_ok) {
        std::lock_guard<std::mutex> lock(out_mu_);
        call_pending_ = false;
      }
    }
  }

  Options opt_;
  // First: requests hold blocks of it until they are destroyed with the members below.
  BlockPool blocks_;
  int epfd_ = -1;
  int evfd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  bool closed_ = false;
  Napi::ThreadSafeFunction tsfn_;

  std::mutex in_mu_;
  std::vector<std::vector<Request>> in_;
  std::atomic<size_t> in_count_{0};
  std::mutex out_mu_;
  std::vector<Result> out_;
  bool call_pending_ = false;

  // Sender thread only.
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> idle_;
  std::vector<Conn*> free_;
  std::vector<Result> results_;
  std::vector<std::pair<sockaddr_storage, socklen_t>> addrs_;
  size_t good_addr_ = 0;
  double now_ = 0;
  double first_result_ms_ = 0;
  char read_buf_[kReadSize];

  std::atomic<int> total_{0};
  std::atomic<long long> opened_{0};
  std::atomic<long long> retired_{0};
  std::atomic<long long> unsolicited_{0};
  std::atomic<long long> resent_{0};
  std::atomic<long long> reopened_{0};
  std::atomic<int> busy_{0};
  std::atomic<double> thread_cpu_ms_{0};
};

// frame(buffer, head, cuts: Int32Array, eof) → [step, status, end, closeAfter, error]: the framer fed `buffer`
// in pieces cut at `cuts` (ascending offsets), then the end of the stream when `eof`. step: 'done', 'bad',
// 'more'. For tests (the property test against the JavaScript splitter).
Napi::Value Frame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsBuffer() || !info[2].IsTypedArray()) {
    Napi::TypeError::New(env, "frame(buffer, head, cuts, eof)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  bool head = info[1].ToBoolean();
  auto cuts = info[2].As<Napi::Int32Array>();
  bool eof = info[3].ToBoolean();
  ResponseFramer f;
  f.Start(head);
  size_t len = buf.Length();
  size_t pos = 0;
  const char* step = "more";
  size_t end = 0;
  for (size_t k = 0; k <= cuts.ElementLength() && pos < len && std::strcmp(step, "more") == 0; k++) {
    size_t stop = k < cuts.ElementLength() ? static_cast<size_t>(std::max(0, cuts[k])) : len;
    if (stop > len) stop = len;
    while (pos < stop) {
      size_t used = 0;
      ResponseFramer::Step s = f.Feed(buf.Data() + pos, stop - pos, &used);
      pos += used;
      if (s == ResponseFramer::INTERIM) continue;
      if (s == ResponseFramer::DONE) step = "done", end = pos;
      if (s == ResponseFramer::BAD) step = "bad", end = pos;
      break;
    }
  }
  if (std::strcmp(step, "more") == 0 && eof) {
    if (f.Finish() == ResponseFramer::DONE) {
      step = "done";
      end = len;
    } else {
      step = "bad";
    }
  }
  Napi::Array out = Napi::Array::New(env, 5);
  out.Set(0u, Napi::String::New(env, step));
  out.Set(1u, Napi::Number::New(env, f.status()));
  out.Set(2u, Napi::Number::New(env, static_cast<double>(end)));
  out.Set(3u, Napi::Boolean::New(env, f.close_after()));
  out.Set(4u, f.error() ? Napi::String::New(env, f.error()) : env.Null());
  return out;
}

// editHost(payload, host) → the payload as submit() sends it with kFindHost (for tests: the property test
// against the JavaScript Host rule).
Napi::Value EditHost(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "editHost(payload, host)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto payload = info[0].As<Napi::Buffer<uint8_t>>();
  auto host = info[1].As<Napi::Buffer<char>>();
  const uint8_t* p = payload.Data();
  size_t n = payload.Length();
  HostEdit e = FindHostEdit(p, n);
  std::string value(host.Data(), host.Length());
  std::string out(EditedLength(n, e, value), '\0');
  WriteEdited(&out[0], reinterpret_cast<const char*>(p), n, e, value);
  return Napi::Buffer<char>::Copy(env, out.data(), out.size());
}

Napi::Object InitHttp(Napi::Env env, Napi::Object exports) {
  exports.Set("editHost", Napi::Function::New(env, EditHost));
  exports.Set("HttpSender", Sender::Define(env));
  exports.Set("frame", Napi::Function::New(env, Frame));
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  return exports;
}

}  // namespace
}  // namespace tapline

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return tapline::InitHttp(env, exports); }
NODE_API_MODULE(tapline_http, Init)
