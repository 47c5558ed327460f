// Frames ONE HTTP/1.x response on a replay connection (tapline_http, http_sender.cc): where it ends, its
// status, whether the connection must close after it. The rules are those of the JavaScript splitter for a
// response stream (src/protocol/http1/splitter.ts), restricted to what a replay client meets:
//
//   START ─status line─▶ HEADERS ─blank line─▶ 1xx (not 101): INTERIM, back to START
//                                        ├──▶ HEAD request / 101 / 204 / 304: DONE (no body)
//                                        ├──▶ chunked: CHUNK_SIZE ⇄ CHUNK_DATA ⇄ CHUNK_END ─0─▶ TRAILERS ─▶ DONE
//                                        ├──▶ Content-Length n: BODY (n bytes) ─▶ DONE
//                                        └──▶ neither: CLOSE (close-delimited) ─ end of stream ─▶ DONE
//   anything that is not HTTP, a head over 64 KiB, a bad chunk line: BAD (error() says why)
//
// Leniency as the splitter: bare-LF line ends, blank lines before the status line, Content-Length lists
// ("5, 5"); the first valid Content-Length wins; Transfer-Encoding is chunked when its last coding is.
// Lines are copied to a small buffer (heads are ~100 bytes); bodies are only counted. Every read is bounded
// by the bytes given: any input ends in DONE, INTERIM, NEED_MORE or BAD, never in a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string.h>

#include <string>

namespace tapline {

class ResponseFramer {
 public:
  enum Step { NEED_MORE, DONE, INTERIM, BAD };

  static constexpr size_t kMaxHead = 64 * 1024;
  static constexpr size_t kMaxChunkLine = 4096;
  static constexpr int kMaxChunkDigits = 13;
  static constexpr int kMaxLengthDigits = 15;

  // A new exchange; `head`: the request was HEAD (its response has no body).
  void Start(bool head) {
    head_request_ = head;
    BeginMessage();
  }

  // Consumes bytes from p[0, n); *used = bytes consumed (all of them for NEED_MORE; up to the end of the
  // message for DONE and INTERIM; up to the fault for BAD). After INTERIM the framer waits for the next
  // message of the same exchange: feed it the rest.
  Step Feed(const uint8_t* p, size_t n, size_t* used) {
    size_t i = 0;
    while (i < n) {
      switch (state_) {
        case S_BODY:
        case S_CHUNK_DATA: {
          uint64_t take = n - i < remaining_ ? n - i : remaining_;
          remaining_ -= take;
          i += take;
          if (remaining_ == 0) {
            if (state_ == S_BODY) {
              *used = i;
              return DONE;
            }
            state_ = S_CHUNK_END;
          }
          break;
        }
        case S_CLOSE:
          i = n;
          break;
        default: {
          // A line: start line, header, chunk size, chunk end, trailer.
          const uint8_t* lf = static_cast<const uint8_t*>(memchr_(p + i, n - i));
          size_t end = lf ? static_cast<size_t>(lf - p) : n;
          size_t add = end - i;
          bool in_head = state_ == S_START || state_ == S_HEADERS;
          if (in_head ? head_bytes_ + add > kMaxHead : line_.size() + add > kMaxChunkLine) {
            *used = i;
            return Fail(in_head ? "max-size" : "malformed");
          }
          line_.append(reinterpret_cast<const char*>(p + i), add);
          if (state_ == S_START || state_ == S_HEADERS) head_bytes_ += add + (lf ? 1 : 0);
          i = lf ? end + 1 : n;
          if (state_ == S_START && !StartPrefixOk()) {
            *used = i;
            return Fail("garbage");
          }
          if (!lf) break;
          if (!line_.empty() && line_.back() == '\r') line_.pop_back();
          Step s = OnLine();
          line_.clear();
          if (s != NEED_MORE) {
            *used = i;
            return s;
          }
        }
      }
    }
    *used = n;
    return NEED_MORE;
  }

  // The stream ended: a close-delimited body is complete; anything else unfinished is not.
  Step Finish() { return state_ == S_CLOSE ? DONE : BAD; }

  int status() const { return status_; }
  // The connection cannot carry another exchange after this response (close-delimited, Connection: close, an
  // HTTP/1.0 answer without keep-alive, 101).
  bool close_after() const { return close_after_; }
  // Why the response was BAD: "garbage", "max-size", "malformed" (a bad chunk line), "bad-length" (a
  // Content-Length that is not a number where the body needs it, or values that differ).
  const char* error() const { return error_; }
  // Still before the first byte of a status line (nothing of a response arrived but blank lines).
  bool idle() const { return state_ == S_START && line_.empty(); }
  // The head (status line and headers) is not complete yet.
  bool in_head() const { return state_ == S_START || state_ == S_HEADERS; }
  bool chunked() const { return chunked_; }
  int64_t content_length() const { return content_length_; }
  // The head is in and the body has no length (no Content-Length, or a Transfer-Encoding whose last coding is
  // not chunked): it ends only when the target closes the connection.
  bool until_close() const { return state_ == S_CLOSE; }
  // Body bytes still expected by a Content-Length body (S_BODY).
  uint64_t remaining() const { return remaining_; }

 private:
  enum State { S_START, S_HEADERS, S_BODY, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_END, S_TRAILERS, S_CLOSE };

  static const void* memchr_(const uint8_t* p, size_t n) { return n == 0 ? nullptr : ::memchr(p, '\n', n); }

  void BeginMessage() {
    state_ = S_START;
    line_.clear();
    head_bytes_ = 0;
    status_ = 0;
    content_length_ = -1;
    chunked_ = false;
    te_seen_ = false;
    close_after_ = false;
    keep_alive_ = false;
    http10_ = false;
    bad_length_ = false;
    conflicting_length_ = false;
    remaining_ = 0;
    error_ = nullptr;
  }

  Step Fail(const char* why) {
    error_ = why;
    return BAD;
  }

  // The start of a (possibly partial) first line can still be "HTTP/" or a blank line.
  bool StartPrefixOk() const {
    static const char kHttp[] = "HTTP/";
    size_t n = line_.size();
    if (n == 0) return true;
    if (line_[0] == '\r') return n == 1;
    for (size_t k = 0; k < n && k < 5; k++) {
      if (line_[k] != kHttp[k]) return false;
    }
    return true;
  }

  static bool IsWs(char c) { return c == ' ' || c == '\t'; }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }
  static char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

  static bool NameIs(const std::string& l, size_t len, const char* lower) {
    for (size_t k = 0; k < len; k++) {
      if (lower[k] == 0 || Lower(l[k]) != lower[k]) return false;
    }
    return lower[len] == 0;
  }

  Step OnLine() {
    switch (state_) {
      case S_START:
        if (line_.empty()) return NEED_MORE;  // blank lines between messages are tolerated
        return StatusLine() ? (state_ = S_HEADERS, NEED_MORE) : Fail("garbage");
      case S_HEADERS:
        if (line_.empty()) return HeadersDone();
        HeaderLine();
        return NEED_MORE;
      case S_CHUNK_SIZE:
        return ChunkSizeLine();
      case S_CHUNK_END:
        if (!line_.empty()) return Fail("malformed");
        state_ = S_CHUNK_SIZE;
        return NEED_MORE;
      case S_TRAILERS:
        return line_.empty() ? DONE : NEED_MORE;
      default:
        return NEED_MORE;
    }
  }

  // HTTP/d.d SP ddd [SP reason]
  bool StatusLine() {
    const std::string& l = line_;
    if (l.size() < 12 || l.compare(0, 5, "HTTP/") != 0 || !IsDigit(l[5]) || l[6] != '.' || !IsDigit(l[7]) ||
        l[8] != ' ' || !IsDigit(l[9]) || !IsDigit(l[10]) || !IsDigit(l[11])) {
      return false;
    }
    if (l.size() > 12 && l[12] != ' ') return false;
    status_ = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    http10_ = l[5] == '1' && l[7] == '0';
    return true;
  }

  void HeaderLine() {
    const std::string& l = line_;
    if (IsWs(l[0])) return;  // obs-fold: continues a field this framer does not need
    size_t colon = l.find(':');
    if (colon == std::string::npos) return;
    size_t ne = colon;
    while (ne > 0 && IsWs(l[ne - 1])) ne--;
    if (ne == 0) return;
    size_t vs = colon + 1, ve = l.size();
    if (ne == 14 && NameIs(l, ne, "content-length")) {
      int64_t v = ParseContentLength(vs, ve);
      if (v < 0) {
        bad_length_ = true;
      } else if (content_length_ < 0) {
        content_length_ = v;
      } else if (v != content_length_) {
        conflicting_length_ = true;
      }
    } else if (ne == 17 && NameIs(l, ne, "transfer-encoding")) {
      te_seen_ = true;
      int c = LastCodingIsChunked(vs, ve);
      if (c >= 0) chunked_ = c == 1;
    } else if (ne == 10 && NameIs(l, ne, "connection")) {
      if (ListHasToken(vs, ve, "close")) close_after_ = true;
      if (ListHasToken(vs, ve, "keep-alive")) keep_alive_ = true;
    }
  }

  // A single value or a list of equal values; -1 when invalid or conflicting.
  int64_t ParseContentLength(size_t i, size_t ve) const {
    const std::string& l = line_;
    int64_t value = -1;
    while (i <= ve) {
      while (i < ve && IsWs(l[i])) i++;
      int64_t n = 0;
      // Leading zeros are allowed in any number (1*DIGIT); only the digits after them are bounded.
      bool zeros = false;
      while (i < ve && l[i] == '0') {
        zeros = true;
        i++;
      }
      int digits = 0;
      while (i < ve && IsDigit(l[i])) {
        if (digits < kMaxLengthDigits) n = n * 10 + (l[i] - '0');
        digits++;
        i++;
      }
      while (i < ve && IsWs(l[i])) i++;
      if ((digits == 0 && !zeros) || digits > kMaxLengthDigits || (i < ve && l[i] != ',')) return -1;
      if (value != -1 && n != value) return -1;
      value = n;
      i++;
    }
    return value;
  }

  // 1: the last listed coding is chunked; 0: another; -1: no coding listed.
  int LastCodingIsChunked(size_t vs, size_t ve) const {
    const std::string& l = line_;
    size_t e = ve;
    while (e > vs && (IsWs(l[e - 1]) || l[e - 1] == ',')) e--;
    if (e == vs) return -1;
    size_t s = e;
    while (s > vs && l[s - 1] != ',') s--;
    while (s < e && IsWs(l[s])) s++;
    static const char kChunked[] = "chunked";
    if (e - s != 7) return 0;
    for (size_t k = 0; k < 7; k++) {
      if (Lower(l[s + k]) != kChunked[k]) return 0;
    }
    return 1;
  }

  bool ListHasToken(size_t vs, size_t ve, const char* token) const {
    const std::string& l = line_;
    size_t tl = strlen(token);
    size_t i = vs;
    while (i < ve) {
      while (i < ve && (IsWs(l[i]) || l[i] == ',')) i++;
      size_t s = i;
      while (i < ve && l[i] != ',') i++;
      size_t e = i;
      while (e > s && IsWs(l[e - 1])) e--;
      if (e - s == tl) {
        bool same = true;
        for (size_t k = 0; k < tl && same; k++) same = Lower(l[s + k]) == token[k];
        if (same) return true;
      }
    }
    return false;
  }

  Step HeadersDone() {
    int st = status_;
    // An HTTP/1.0 answer closes the connection unless it says keep-alive (RFC 9112 §9.3; Go's shouldClose).
    if (http10_ && !keep_alive_) close_after_ = true;
    if (st < 200 && st != 101) {
      BeginMessage();  // 100 Continue, 102, 103: the final response follows
      return INTERIM;
    }
    if (st == 101) {
      close_after_ = true;  // the protocol switched: nothing more for this client on it
      return DONE;
    }
    // Go refuses a length it cannot trust: Content-Length values that differ (always), or one that is not a
    // number (unless the body does not need it: HEAD, 204, 304, chunked). http-connection.ts brokenLength.
    if (conflicting_length_) return Fail("bad-length");
    if (head_request_ || st == 204 || st == 304) return DONE;
    if (bad_length_ && !chunked_) return Fail("bad-length");
    if (chunked_) {
      state_ = S_CHUNK_SIZE;
      return NEED_MORE;
    }
    if (!te_seen_ && content_length_ >= 0) {
      if (content_length_ == 0) return DONE;
      remaining_ = static_cast<uint64_t>(content_length_);
      state_ = S_BODY;
      return NEED_MORE;
    }
    close_after_ = true;
    state_ = S_CLOSE;
    return NEED_MORE;
  }

  Step ChunkSizeLine() {
    const std::string& l = line_;
    size_t i = 0, ce = l.size();
    while (i < ce && IsWs(l[i])) i++;
    uint64_t n = 0;
    // As for a length: leading zeros in any number (1*HEXDIG), the digits after them bounded.
    bool zeros = false;
    for (; i < ce && l[i] == '0'; i++) zeros = true;
    int digits = 0;
    for (; i < ce; i++) {
      int d = Hex(l[i]);
      if (d < 0) break;
      if (digits < kMaxChunkDigits) n = n * 16 + static_cast<uint64_t>(d);
      digits++;
    }
    while (i < ce && IsWs(l[i])) i++;
    if ((digits == 0 && !zeros) || digits > kMaxChunkDigits || (i < ce && l[i] != ';')) return Fail("malformed");
    if (n == 0) {
      state_ = S_TRAILERS;
    } else {
      remaining_ = n;
      state_ = S_CHUNK_DATA;
    }
    return NEED_MORE;
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool head_request_ = false;
  State state_ = S_START;
  std::string line_;
  size_t head_bytes_ = 0;
  int status_ = 0;
  int64_t content_length_ = -1;
  bool chunked_ = false;
  bool te_seen_ = false;
  bool close_after_ = false;
  bool keep_alive_ = false;
  bool http10_ = false;
  bool bad_length_ = false;
  bool conflicting_length_ = false;
  uint64_t remaining_ = 0;
  const char* error_ = nullptr;
};

}  // namespace tapline
