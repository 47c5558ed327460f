// tapline file addon (tapline_file.node): file mapping here, the record scanner in file_scan.cc, the kernel
// copy of raw runs (copyRange) in file_copy.cc.
// Maps windows of a `.gor` file read by --input-file into memory (mmap(2), read-only, shared), so records are parsed from the page cache itself and a copy to --output-file writes
// them from there: one copy of every byte through the kernel instead of two (read into a fresh buffer, then
// write), and no page faults on fresh buffers. See src/inputs/file-map.ts for when it is used.
//
//   map(fd, offset, length, done)      on the libuv thread pool: fstat, mmap(MAP_SHARED), MADV_SEQUENTIAL;
//     done(errnoOrZero, buffer)        `buffer` covers [offset, min(offset+length, size of the file));
//                                      an external Buffer whose memory is unmapped when it is collected
//   prefetch(view, old, done)          on the thread pool: madvise(MADV_POPULATE_READ) over a view of a
//     done(errnoOrZero)                mapping, so the main thread neither faults nor waits for the disk
//                                      when it parses it (Linux 5.14+; older kernels: EINVAL, harmless);
//                                      first release(old) when `old` is a view too (a TLB flush the main
//                                      thread need not wait for)
//   release(buffer)                    madvise(MADV_DONTNEED): drops the pages from this process (its RSS);
//                                      the memory stays valid, a later access faults the page cache back in
//   faults()                           pages of a mapping that were found cut off since the process started
//
// A file truncated by another process while it is mapped would kill the process with SIGBUS on the next
// access to a page past its new end. A SIGBUS handler turns that into data: a fault inside one of our
// mappings puts a page of zeros there and counts it in faults(); JavaScript checks faults() after parsing a
// window and stops reading the file with a read error. Faults outside our mappings go to the handler that
// was there before (or the default action).
//
// Builds with the compiler only (node-addon-api, glibc).

#include <napi.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "file_copy.h"
#include "file_scan.h"

namespace tapline {
namespace {

// Live mappings, scanned by the signal handler (no locks there: plain atomics). Registration happens on
// thread-pool threads and the main thread (finalizers) under `slots_mutex`.
constexpr int kSlots = 4096;
struct Slot {
  std::atomic<uintptr_t> base{0};
  std::atomic<size_t> length{0};
};
Slot slots[kSlots];
std::mutex slots_mutex;
std::atomic<double> fault_pages{0};
struct sigaction previous_bus;
std::once_flag handler_once;
long page_size = 4096;

bool Register(void* base, size_t length) {
  std::lock_guard<std::mutex> lock(slots_mutex);
  for (Slot& s : slots) {
    if (s.base.load() == 0) {
      s.length.store(length);
      s.base.store(reinterpret_cast<uintptr_t>(base));
      return true;
    }
  }
  return false;
}

void Unregister(void* base) {
  std::lock_guard<std::mutex> lock(slots_mutex);
  for (Slot& s : slots) {
    if (s.base.load() == reinterpret_cast<uintptr_t>(base)) {
      s.base.store(0);
      s.length.store(0);
      return;
    }
  }
}

void OnBus(int sig, siginfo_t* info, void* context) {
  uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (Slot& s : slots) {
    uintptr_t base = s.base.load(std::memory_order_relaxed);
    if (base == 0 || addr < base || addr >= base + s.length.load(std::memory_order_relaxed)) continue;
    uintptr_t page = addr & ~static_cast<uintptr_t>(page_size - 1);
    // mmap is a plain system call: safe enough here, and the only way to make the access succeed.
    void* zero = mmap(reinterpret_cast<void*>(page), page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                      -1, 0);
    if (zero != MAP_FAILED) {
      fault_pages.store(fault_pages.load() + 1);
      return;  // the access is retried and reads zeros
    }
    break;
  }
  // Not ours: what would have happened without us.
  if (previous_bus.sa_flags & SA_SIGINFO) {
    if (previous_bus.sa_sigaction != nullptr) {
      previous_bus.sa_sigaction(sig, info, context);
      return;
    }
  } else if (previous_bus.sa_handler != SIG_DFL && previous_bus.sa_handler != SIG_IGN) {
    previous_bus.sa_handler(sig);
    return;
  }
  signal(SIGBUS, SIG_DFL);  // returning re-executes the access, which now takes the default action
}

void InstallHandler() {
  page_size = sysconf(_SC_PAGESIZE);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = OnBus;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, &previous_bus);
}

struct Mapping {
  void* base;
  size_t length;
};

void Unmap(Napi::Env env, char* data, Mapping* m) {
  Unregister(m->base);
  munmap(m->base, m->length);
  delete m;
}

class MapWorker : public Napi::AsyncWorker {
 public:
  MapWorker(Napi::Function& done, int fd, int64_t offset, int64_t length)
      : Napi::AsyncWorker(done), fd_(fd), offset_(offset), length_(length) {}

  void Execute() override {
    struct stat st;
    if (fstat(fd_, &st) != 0) {
      errno_ = errno;
      return;
    }
    int64_t end = offset_ + length_;
    if (end > st.st_size) end = st.st_size;
    if (end <= offset_) return;  // nothing there: an empty buffer, like a read at the end
    int64_t aligned = offset_ & ~static_cast<int64_t>(page_size - 1);
    size_t span = static_cast<size_t>(end - aligned);
    void* base = mmap(nullptr, span, PROT_READ, MAP_SHARED, fd_, aligned);
    if (base == MAP_FAILED) {
      errno_ = errno;
      return;
    }
    madvise(base, span, MADV_SEQUENTIAL);
    if (!Register(base, span)) {
      munmap(base, span);
      errno_ = ENOMEM;  // too many live mappings: JavaScript reads instead
      return;
    }
    base_ = base;
    span_ = span;
    skip_ = static_cast<size_t>(offset_ - aligned);
    size_ = static_cast<size_t>(end - offset_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Value buffer;
    if (base_ == nullptr) {
      buffer = Napi::Buffer<char>::New(env, 0);
    } else {
      buffer = Napi::Buffer<char>::New(env, static_cast<char*>(base_) + skip_, size_, Unmap,
                                       new Mapping{base_, span_});
    }
    Callback().Call({Napi::Number::New(env, errno_), buffer});
  }

 private:
  int fd_;
  int64_t offset_;
  int64_t length_;
  int errno_ = 0;
  void* base_ = nullptr;
  size_t span_ = 0;
  size_t skip_ = 0;
  size_t size_ = 0;
};

Napi::Value Map(const Napi::CallbackInfo& info) {
  Napi::Function done = info[3].As<Napi::Function>();
  auto* worker = new MapWorker(done, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int64Value(),
                               info[2].As<Napi::Number>().Int64Value());
  worker->Queue();
  return info.Env().Undefined();
}

// The whole pages under a Buffer, when they lie inside one of our mappings (madvise on ordinary memory could
// zero it); false otherwise.
bool PagesOf(const Napi::Value& value, uintptr_t* start, uintptr_t* end) {
  Napi::Buffer<char> buffer = value.As<Napi::Buffer<char>>();
  uintptr_t page = static_cast<uintptr_t>(page_size);
  *start = reinterpret_cast<uintptr_t>(buffer.Data()) & ~(page - 1);
  *end = (reinterpret_cast<uintptr_t>(buffer.Data()) + buffer.Length() + page - 1) & ~(page - 1);
  if (buffer.Length() == 0) return false;
  std::lock_guard<std::mutex> lock(slots_mutex);
  for (Slot& s : slots) {
    uintptr_t base = s.base.load();
    if (base != 0 && *start >= base && *end <= base + ((s.length.load() + page - 1) & ~(page - 1))) return true;
  }
  return false;
}

Napi::Value Release(const Napi::CallbackInfo& info) {
  uintptr_t start, end;
  if (!PagesOf(info[0], &start, &end)) return Napi::Number::New(info.Env(), EINVAL);
  int rc = madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
  return Napi::Number::New(info.Env(), rc == 0 ? 0 : errno);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

class PrefetchWorker : public Napi::AsyncWorker {
 public:
  PrefetchWorker(Napi::Function& done, const Napi::Value& view, uintptr_t start, uintptr_t end,
                 const Napi::Value& old, uintptr_t old_start, uintptr_t old_end)
      : Napi::AsyncWorker(done), start_(start), end_(end), old_start_(old_start), old_end_(old_end) {
    view_ = Napi::Persistent(view.As<Napi::Object>());  // keeps the mappings alive meanwhile
    if (old_end > old_start) old_ = Napi::Persistent(old.As<Napi::Object>());
  }
  void Execute() override {
    if (old_end_ > old_start_) madvise(reinterpret_cast<void*>(old_start_), old_end_ - old_start_, MADV_DONTNEED);
    if (madvise(reinterpret_cast<void*>(start_), end_ - start_, MADV_POPULATE_READ) != 0) errno_ = errno;
  }
  void OnOK() override { Callback().Call({Napi::Number::New(Env(), errno_)}); }

 private:
  Napi::ObjectReference view_;
  Napi::ObjectReference old_;
  uintptr_t start_;
  uintptr_t end_;
  uintptr_t old_start_;
  uintptr_t old_end_;
  int errno_ = 0;
};

Napi::Value Prefetch(const Napi::CallbackInfo& info) {
  Napi::Function done = info[2].As<Napi::Function>();
  uintptr_t start, end, old_start = 0, old_end = 0;
  if (!PagesOf(info[0], &start, &end)) {
    done.Call({Napi::Number::New(info.Env(), EINVAL)});
    return info.Env().Undefined();
  }
  if (!info[1].IsBuffer() || !PagesOf(info[1], &old_start, &old_end)) old_start = old_end = 0;
  (new PrefetchWorker(done, info[0], start, end, info[1], old_start, old_end))->Queue();
  return info.Env().Undefined();
}

// prefetch(), then the record scan of the view on the same thread-pool thread, so that the main thread finds
// the records of the view already split (src/core/gor-format.ts, scanClean; src/inputs/file-map.ts). The scan
// starts at `hint`, or, when it is negative, after the view's first LF separator (the record cut by the start
// of the view is the reader's). Results go into `ints`/`keys` in scanRecords' layout; `faulted` says a
// mapping lost pages while this ran (the view may hold zeros: its records are not used).
//   prefetchScan(view, old, ints, keys, hint, done(errno, count, from, faulted))   count -1: nothing scanned
class PrefetchScanWorker : public Napi::AsyncWorker {
 public:
  PrefetchScanWorker(Napi::Function& done, const Napi::CallbackInfo& info, uintptr_t start, uintptr_t end,
                     uintptr_t old_start, uintptr_t old_end, int64_t hint)
      : Napi::AsyncWorker(done), start_(start), end_(end), old_start_(old_start), old_end_(old_end), hint_(hint) {
    Napi::Buffer<uint8_t> view = info[0].As<Napi::Buffer<uint8_t>>();
    data_ = view.Data();
    len_ = view.Length();
    view_ = Napi::Persistent(info[0].As<Napi::Object>());
    if (old_end > old_start) old_ = Napi::Persistent(info[1].As<Napi::Object>());
    Napi::Int32Array ints = info[2].As<Napi::Int32Array>();
    Napi::Float64Array keys = info[3].As<Napi::Float64Array>();
    ints_ = ints.Data();
    keys_ = keys.Data();
    capacity_ = keys.ElementLength();
    ints_ref_ = Napi::Persistent(info[2].As<Napi::Object>());
    keys_ref_ = Napi::Persistent(info[3].As<Napi::Object>());
  }
  void Execute() override {
    if (old_end_ > old_start_) madvise(reinterpret_cast<void*>(old_start_), old_end_ - old_start_, MADV_DONTNEED);
    if (madvise(reinterpret_cast<void*>(start_), end_ - start_, MADV_POPULATE_READ) != 0) errno_ = errno;
    double faults_before = fault_pages.load();
    int64_t from = hint_ >= 0 ? hint_ : AfterFirstSeparator(data_, len_);
    if (from < 0 || static_cast<size_t>(from) > len_ || len_ > static_cast<size_t>(INT32_MAX)) return;
    size_t stopped = static_cast<size_t>(from);
    count_ = static_cast<int64_t>(ScanInto(data_, len_, static_cast<size_t>(from), ints_, keys_, capacity_, &stopped));
    ints_[3 * capacity_] = static_cast<int32_t>(stopped);
    from_ = from;
    faulted_ = fault_pages.load() != faults_before;
  }
  void OnOK() override {
    Napi::Env env = Env();
    Callback().Call({Napi::Number::New(env, errno_), Napi::Number::New(env, static_cast<double>(count_)),
                     Napi::Number::New(env, static_cast<double>(from_)), Napi::Boolean::New(env, faulted_)});
  }

 private:
  Napi::ObjectReference view_;
  Napi::ObjectReference old_;
  Napi::ObjectReference ints_ref_;
  Napi::ObjectReference keys_ref_;
  const uint8_t* data_;
  size_t len_;
  int32_t* ints_;
  double* keys_;
  size_t capacity_;
  uintptr_t start_;
  uintptr_t end_;
  uintptr_t old_start_;
  uintptr_t old_end_;
  int64_t hint_;
  int errno_ = 0;
  int64_t count_ = -1;
  int64_t from_ = -1;
  bool faulted_ = false;
};

Napi::Value PrefetchScan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[5].IsFunction()) {
    Napi::TypeError::New(env, "prefetchScan: a callback is required").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Function done = info[5].As<Napi::Function>();
  auto refuse = [&]() {
    done.Call({Napi::Number::New(env, EINVAL), Napi::Number::New(env, -1), Napi::Number::New(env, -1),
               Napi::Boolean::New(env, false)});
    return env.Undefined();
  };
  uintptr_t start, end, old_start = 0, old_end = 0;
  if (!info[0].IsBuffer() || !PagesOf(info[0], &start, &end)) return refuse();
  if (!info[2].IsTypedArray() || !info[3].IsTypedArray() || !info[4].IsNumber()) return refuse();
  Napi::TypedArray ints = info[2].As<Napi::TypedArray>();
  Napi::TypedArray keys = info[3].As<Napi::TypedArray>();
  if (ints.TypedArrayType() != napi_int32_array || keys.TypedArrayType() != napi_float64_array ||
      ints.ElementLength() < 3 * keys.ElementLength() + 1) {
    return refuse();
  }
  double hint = info[4].As<Napi::Number>().DoubleValue();
  if (!(hint >= -1 && hint <= static_cast<double>(INT32_MAX)) || hint != static_cast<double>(static_cast<int64_t>(hint))) {
    return refuse();
  }
  if (!info[1].IsBuffer() || !PagesOf(info[1], &old_start, &old_end)) old_start = old_end = 0;
  (new PrefetchScanWorker(done, info, start, end, old_start, old_end, static_cast<int64_t>(hint)))->Queue();
  return env.Undefined();
}

Napi::Value Faults(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), fault_pages.load());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  std::call_once(handler_once, InstallHandler);
  exports.Set("map", Napi::Function::New(env, Map));
  exports.Set("release", Napi::Function::New(env, Release));
  exports.Set("prefetch", Napi::Function::New(env, Prefetch));
  exports.Set("prefetchScan", Napi::Function::New(env, PrefetchScan));
  exports.Set("faults", Napi::Function::New(env, Faults));
  RegisterScan(env, exports);
  RegisterCopy(env, exports);
  exports.Set("abiVersion", Napi::Number::New(env, 2));
  return exports;
}

}  // namespace
}  // namespace tapline

static Napi::Object InitFileMap(Napi::Env env, Napi::Object exports) { return tapline::Init(env, exports); }

NODE_API_MODULE(tapline_file, InitFileMap)
