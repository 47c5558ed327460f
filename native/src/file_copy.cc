// tapline file-copy addon: copies a span of one file to the end of another inside the kernel
// (copy_file_range(2): page cache to page cache, no trip through JavaScript memory), on the libuv
// thread pool so the main thread goes on parsing while the kernel copies.
//
// JavaScript decides WHEN a span may be copied (records passed through unchanged, see
// src/core/file-copy.ts); this file only copies, and reports exactly what it did, so that JavaScript
// can write from memory whatever was not copied, or was copied from a source that changed:
//
//   stamp(fd) -> string           identity and change stamp of a file: dev, inode, ctime, mtime
//   copySpan(inFd, inOffset, outFd, length, stamp, failErrno, failAfter, done)
//     done({ outStart, copied, errno, changed })
//       outStart  size of the output when the copy started: where the span was written
//       copied    bytes copied (< length when the kernel refused, or the source ended early)
//       errno     why it stopped early (0 when the source simply ended)
//       changed   0: the source's stamp was the expected one before and after the copy;
//                 1: it differed before: nothing was copied;
//                 2: it differed after: the `copied` bytes may not be the ones JavaScript parsed
//     failErrno/failAfter (tests only; 0 in production): behave as if the kernel refused with
//     failErrno once failAfter bytes are copied, to exercise the fallback.
//
// The output fd must not be opened with O_APPEND (copy_file_range refuses those with EBADF); the
// span goes at the output's current size, read with fstat just before copying. JavaScript issues one
// operation at a time per output file, so nothing else moves the end meanwhile.
//
// Builds with the compiler and the kernel UAPI headers only (glibc's copy_file_range wrapper).

#include <napi.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace tapline {
namespace {

constexpr size_t kMaxCall = 1 << 30;  // bytes per copy_file_range call

bool StampOf(int fd, std::string* out) {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  *out = std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
         std::to_string(static_cast<unsigned long long>(st.st_ino)) + ":" +
         std::to_string(static_cast<long long>(st.st_ctim.tv_sec)) + "." +
         std::to_string(static_cast<long long>(st.st_ctim.tv_nsec)) + ":" +
         std::to_string(static_cast<long long>(st.st_mtim.tv_sec)) + "." +
         std::to_string(static_cast<long long>(st.st_mtim.tv_nsec));
  return true;
}

class CopyWorker : public Napi::AsyncWorker {
 public:
  CopyWorker(Napi::Function& done, int in_fd, int64_t in_offset, int out_fd, int64_t length, std::string stamp,
             int fail_errno, int64_t fail_after)
      : Napi::AsyncWorker(done),
        in_fd_(in_fd),
        in_offset_(in_offset),
        out_fd_(out_fd),
        length_(length),
        stamp_(std::move(stamp)),
        fail_errno_(fail_errno),
        fail_after_(fail_after) {}

  void Execute() override {
    struct stat out_st;
    if (fstat(out_fd_, &out_st) != 0) {
      errno_ = errno;
      return;
    }
    out_start_ = out_st.st_size;
    std::string now;
    if (!StampOf(in_fd_, &now)) {
      errno_ = errno;
      return;
    }
    if (now != stamp_) {
      changed_ = 1;
      return;
    }
    loff_t in_off = in_offset_;
    loff_t out_off = out_start_;
    while (copied_ < length_) {
      size_t want = static_cast<size_t>(length_ - copied_);
      if (want > kMaxCall) want = kMaxCall;
      if (fail_errno_ != 0) {
        if (copied_ >= fail_after_) {
          errno_ = fail_errno_;
          break;
        }
        if (static_cast<int64_t>(want) > fail_after_ - copied_) want = static_cast<size_t>(fail_after_ - copied_);
      }
      ssize_t n = copy_file_range(in_fd_, &in_off, out_fd_, &out_off, want, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        errno_ = errno;
        break;
      }
      if (n == 0) break;  // the source ends here
      copied_ += n;
    }
    if (copied_ > 0) {
      if (!StampOf(in_fd_, &now) || now != stamp_) changed_ = 2;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("outStart", Napi::Number::New(env, static_cast<double>(out_start_)));
    result.Set("copied", Napi::Number::New(env, static_cast<double>(copied_)));
    result.Set("errno", Napi::Number::New(env, errno_));
    result.Set("changed", Napi::Number::New(env, changed_));
    Callback().Call({result});
  }

 private:
  const int in_fd_;
  const int64_t in_offset_;
  const int out_fd_;
  const int64_t length_;
  const std::string stamp_;
  const int fail_errno_;
  const int64_t fail_after_;
  int64_t out_start_ = 0;
  int64_t copied_ = 0;
  int errno_ = 0;
  int changed_ = 0;
};

Napi::Value Stamp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "stamp(fd): fd must be a number");
  std::string out;
  if (!StampOf(info[0].As<Napi::Number>().Int32Value(), &out)) {
    Napi::Error err = Napi::Error::New(env, std::string("fstat: ") + strerror(errno));
    err.Set("errno", Napi::Number::New(env, errno));
    throw err;
  }
  return Napi::String::New(env, out);
}

Napi::Value CopySpan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsNumber() || !info[4].IsString() || !info[5].IsNumber() || !info[6].IsNumber() ||
      !info[7].IsFunction()) {
    throw Napi::TypeError::New(
        env, "copySpan(inFd, inOffset, outFd, length, stamp, failErrno, failAfter, done): bad arguments");
  }
  double in_offset = info[1].As<Napi::Number>().DoubleValue();
  double length = info[3].As<Napi::Number>().DoubleValue();
  if (!(in_offset >= 0) || !(length >= 0)) throw Napi::RangeError::New(env, "copySpan: negative offset or length");
  Napi::Function done = info[7].As<Napi::Function>();
  auto* worker = new CopyWorker(done, info[0].As<Napi::Number>().Int32Value(), static_cast<int64_t>(in_offset),
                                info[2].As<Napi::Number>().Int32Value(), static_cast<int64_t>(length),
                                info[4].As<Napi::String>().Utf8Value(), info[5].As<Napi::Number>().Int32Value(),
                                static_cast<int64_t>(info[6].As<Napi::Number>().DoubleValue()));
  worker->Queue();
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("stamp", Napi::Function::New(env, Stamp, "stamp"));
  exports.Set("copySpan", Napi::Function::New(env, CopySpan, "copySpan"));
  return exports;
}

}  // namespace
}  // namespace tapline

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tapline::Init(env, exports); }

NODE_API_MODULE(tapline_file_copy, InitModule)
