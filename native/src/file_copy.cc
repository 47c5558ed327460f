// tapline file addon, kernel copies: the raw runs of a `.gor` copy (src/outputs/file-sink.ts) are copied from
// the input file to the output file by the kernel, page cache to page cache, with copy_file_range(2) on the
// thread pool, instead of being written from the input's mapping (which costs page-table work besides the copy).
//
//   copyRange(inFd, inOffset, outFd, length, done(errno, copied))
//     copies `length` bytes of inFd from inOffset to the current end of outFd (fstat right before the copy:
//     outFd is a second descriptor of an append-only output, without O_APPEND, which copy_file_range refuses;
//     the caller serialises it with its own writes). `copied` < `length` with errno 0: the input ended sooner
//     (the caller writes the rest). errno EXDEV/EINVAL/ENOSYS/EOPNOTSUPP/EBADF: this pair of files cannot be
//     copied so; the caller writes instead. Bad arguments are reported as EINVAL through `done`, never thrown.
//
//   copyQueue()                                     a queue of copies for one output (an object to pass back)
//   copyQueueAdd(queue, seq, inFd, inOffset, outFd, length, progress(seq, errno, copied)) -> bool
//     adds a copy (as copyRange) behind those queued. One thread-pool job runs the queue's copies back to
//     back, so the next copy starts the moment one ends, without a turn of the main thread's event loop in
//     between; `progress` reports each copy (its `seq`) as it ends. After a copy that fails or copies short,
//     the queue stops: what is still queued is dropped (reported with errno ECANCELED) and later adds return
//     false. Arguments that are not whole numbers in range, or a `queue` that is not one: false.

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <napi.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "file_copy.h"

namespace tapline {
namespace {

constexpr int64_t kMaxSafe = (int64_t{1} << 53) - 1;
constexpr size_t kMaxCall = size_t{1} << 30;

// Copies `length` bytes of `in` from `in_offset` to the current end of `out`; *copied < length with *err 0
// when the input ends sooner.
void CopyToEnd(int in, int64_t in_offset, int out, int64_t length, int* err, int64_t* copied) {
  *err = 0;
  *copied = 0;
  struct stat st;
  if (fstat(out, &st) != 0) {
    *err = errno;
    return;
  }
  loff_t in_off = in_offset;
  loff_t out_off = st.st_size;
  while (*copied < length) {
    int64_t left = length - *copied;
    size_t want = left > static_cast<int64_t>(kMaxCall) ? kMaxCall : static_cast<size_t>(left);
    ssize_t n = copy_file_range(in, &in_off, out, &out_off, want, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return;
    }
    if (n == 0) return;  // the input ends sooner
    *copied += n;
  }
}

class CopyWorker : public Napi::AsyncWorker {
 public:
  CopyWorker(Napi::Function& done, int in, int64_t in_offset, int out, int64_t length)
      : Napi::AsyncWorker(done), in_(in), in_offset_(in_offset), out_(out), length_(length) {}

  void Execute() override { CopyToEnd(in_, in_offset_, out_, length_, &errno_, &copied_); }

  void OnOK() override {
    Napi::Env env = Env();
    Callback().Call({Napi::Number::New(env, errno_), Napi::Number::New(env, static_cast<double>(copied_))});
  }

 private:
  int in_;
  int64_t in_offset_;
  int out_;
  int64_t length_;
  int errno_ = 0;
  int64_t copied_ = 0;
};

// A whole number in [min, max], or false.
bool WholeIn(const Napi::Value& v, double min, double max, double* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < min || d > max) return false;
  *out = d;
  return true;
}

Napi::Value CopyRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[4].IsFunction()) {
    Napi::TypeError::New(env, "copyRange: a callback is required").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Function done = info[4].As<Napi::Function>();
  double in, in_offset, out, length;
  if (!WholeIn(info[0], 0, INT_MAX, &in) || !WholeIn(info[1], 0, static_cast<double>(kMaxSafe), &in_offset) ||
      !WholeIn(info[2], 0, INT_MAX, &out) || !WholeIn(info[3], 0, static_cast<double>(kMaxSafe), &length)) {
    done.Call({Napi::Number::New(env, EINVAL), Napi::Number::New(env, 0)});
    return env.Undefined();
  }
  (new CopyWorker(done, static_cast<int>(in), static_cast<int64_t>(in_offset), static_cast<int>(out),
                  static_cast<int64_t>(length)))
      ->Queue();
  return env.Undefined();
}

struct QueuedCopy {
  double seq;
  int in;
  int64_t in_offset;
  int out;
  int64_t length;
};

struct CopyReport {
  double seq;
  int err;
  int64_t copied;
};

// The queue itself, shared by the JavaScript handle and the job running it (whichever lets go last frees it).
struct CopyQueueState {
  std::mutex mutex;
  std::deque<QueuedCopy> copies;
  bool running = false;
  bool stopped = false;
};

class QueueWorker : public Napi::AsyncProgressQueueWorker<CopyReport> {
 public:
  QueueWorker(Napi::Env env, Napi::Function& progress, std::shared_ptr<CopyQueueState> state)
      : Napi::AsyncProgressQueueWorker<CopyReport>(env), state_(std::move(state)) {
    progress_ = Napi::Persistent(progress);
  }

  void Execute(const ExecutionProgress& progress) override {
    for (;;) {
      QueuedCopy next;
      {
        std::lock_guard<std::mutex> lock(state_->mutex);
        if (state_->copies.empty()) {
          state_->running = false;
          return;
        }
        next = state_->copies.front();
        state_->copies.pop_front();
      }
      CopyReport report{next.seq, 0, 0};
      CopyToEnd(next.in, next.in_offset, next.out, next.length, &report.err, &report.copied);
      progress.Send(&report, 1);
      if (report.err != 0 || report.copied < next.length) {
        std::lock_guard<std::mutex> lock(state_->mutex);
        state_->stopped = true;
        for (const QueuedCopy& dropped : state_->copies) {
          CopyReport cancel{dropped.seq, ECANCELED, 0};
          progress.Send(&cancel, 1);
        }
        state_->copies.clear();
        state_->running = false;
        return;
      }
    }
  }

  void OnProgress(const CopyReport* reports, size_t count) override {
    Napi::Env env = Env();
    for (size_t i = 0; i < count; i++) {
      progress_.Call({Napi::Number::New(env, reports[i].seq), Napi::Number::New(env, reports[i].err),
                      Napi::Number::New(env, static_cast<double>(reports[i].copied))});
    }
  }

  void OnOK() override {}  // every copy was reported through `progress`

 private:
  std::shared_ptr<CopyQueueState> state_;
  Napi::FunctionReference progress_;
};

using QueueHandle = std::shared_ptr<CopyQueueState>;

// Tags our queue handles, so that an External made by anything else is refused instead of read as one.
constexpr napi_type_tag kQueueTag = {0x7461706c696e6571ULL, 0x636f707971756575ULL};

Napi::Value CopyQueue(const Napi::CallbackInfo& info) {
  auto handle = Napi::External<QueueHandle>::New(info.Env(), new QueueHandle(std::make_shared<CopyQueueState>()),
                                                 [](Napi::Env, QueueHandle* h) { delete h; });
  handle.TypeTag(&kQueueTag);
  return handle;
}

Napi::Value CopyQueueAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double seq, in, in_offset, out, length;
  if (info.Length() < 7 || !info[0].IsExternal() || !info[0].As<Napi::External<QueueHandle>>().CheckTypeTag(&kQueueTag) ||
      !info[6].IsFunction() ||
      !WholeIn(info[1], 0, static_cast<double>(kMaxSafe), &seq) || !WholeIn(info[2], 0, INT_MAX, &in) ||
      !WholeIn(info[3], 0, static_cast<double>(kMaxSafe), &in_offset) || !WholeIn(info[4], 0, INT_MAX, &out) ||
      !WholeIn(info[5], 0, static_cast<double>(kMaxSafe), &length)) {
    return Napi::Boolean::New(env, false);
  }
  QueueHandle* handle = info[0].As<Napi::External<QueueHandle>>().Data();
  if (handle == nullptr || !*handle) return Napi::Boolean::New(env, false);
  std::shared_ptr<CopyQueueState> state = *handle;
  bool start = false;
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (state->stopped) return Napi::Boolean::New(env, false);
    state->copies.push_back(QueuedCopy{seq, static_cast<int>(in), static_cast<int64_t>(in_offset),
                                       static_cast<int>(out), static_cast<int64_t>(length)});
    if (!state->running) {
      state->running = true;
      start = true;
    }
  }
  if (start) {
    Napi::Function progress = info[6].As<Napi::Function>();
    (new QueueWorker(env, progress, state))->Queue();
  }
  return Napi::Boolean::New(env, true);
}

}  // namespace

void RegisterCopy(Napi::Env env, Napi::Object exports) {
  exports.Set("copyRange", Napi::Function::New(env, CopyRange));
  exports.Set("copyQueue", Napi::Function::New(env, CopyQueue));
  exports.Set("copyQueueAdd", Napi::Function::New(env, CopyQueueAdd));
}

}  // namespace tapline
