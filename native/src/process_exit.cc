// tapline process addon: leaving the process at once (src/cli/exit-at-once.ts), for the second Ctrl-C.
//
//   exitNow(code)   _exit(code): no atexit handlers, no static destructors; the kernel ends every thread.
//
// Why: process.exit() runs libuv's library destructor, which joins the thread pool's threads. A thread blocked
// in write() on a FIFO nobody reads (--output-file-append into a named pipe) never returns, so process.exit()
// never did either: the second Ctrl-C printed the summary and the process stayed until SIGKILL. stderr is
// written synchronously by Node (files, pipes and terminals on Linux), so what was printed before is out.
// A code that is not a whole number from 0 to 255 gives 1.

#include <unistd.h>

#include <napi.h>

#include <cmath>

namespace tapline {
namespace {

Napi::Value ExitNow(const Napi::CallbackInfo& info) {
  int code = 1;
  if (info.Length() > 0 && info[0].IsNumber()) {
    double v = info[0].As<Napi::Number>().DoubleValue();
    if (std::isfinite(v) && v >= 0 && v <= 255 && v == std::floor(v)) code = static_cast<int>(v);
  }
  _exit(code);
  return info.Env().Undefined();
}

}  // namespace
}  // namespace tapline

static Napi::Object InitProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("exitNow", Napi::Function::New(env, tapline::ExitNow));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

NODE_API_MODULE(tapline_process, InitProcess)
