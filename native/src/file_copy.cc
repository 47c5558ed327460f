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

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <napi.h>

#include <climits>
#include <cmath>
#include <cstdint>

#include "file_copy.h"

namespace tapline {
namespace {

constexpr int64_t kMaxSafe = (int64_t{1} << 53) - 1;
constexpr size_t kMaxCall = size_t{1} << 30;

class CopyWorker : public Napi::AsyncWorker {
 public:
  CopyWorker(Napi::Function& done, int in, int64_t in_offset, int out, int64_t length)
      : Napi::AsyncWorker(done), in_(in), in_offset_(in_offset), out_(out), length_(length) {}

  void Execute() override {
    struct stat st;
    if (fstat(out_, &st) != 0) {
      errno_ = errno;
      return;
    }
    loff_t in_off = in_offset_;
    loff_t out_off = st.st_size;
    while (copied_ < length_) {
      int64_t left = length_ - copied_;
      size_t want = left > static_cast<int64_t>(kMaxCall) ? kMaxCall : static_cast<size_t>(left);
      ssize_t n = copy_file_range(in_, &in_off, out_, &out_off, want, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        errno_ = errno;
        return;
      }
      if (n == 0) return;  // the input ends sooner
      copied_ += n;
    }
  }

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

}  // namespace

void RegisterCopy(Napi::Env env, Napi::Object exports) {
  exports.Set("copyRange", Napi::Function::New(env, CopyRange));
}

}  // namespace tapline
