// tapline net addon: what a forwarding peer's TCP acknowledged (src/net/tcp-ack.ts), for --output-tcp and
// --output-ws. Node gives no TCP_INFO; this is the one call it needs, plus a second descriptor of the socket so
// that the figure can still be read after Node has closed its own (Node closes it the moment a reset is seen,
// before any JavaScript runs).
//
//   dupFd(fd) -> fd2 | -errno          a second descriptor of the same socket (close-on-exec). The socket
//                                      stays open in the kernel until fd2 is closed too: close it promptly.
//   tcpAcked(fd) -> [acked, received] | -errno
//                                      tcpi_bytes_acked (bytes of this side's stream the peer's TCP acknowledged,
//                                      counting the SYN and a FIN as one each) and tcpi_bytes_received (bytes
//                                      of the peer's stream this side's TCP received). Linux 4.1+; -ENOPROTOOPT
//                                      on a kernel whose tcp_info is too short to have them. Still readable
//                                      after a reset (the counters stay until the socket is freed).
//   closeFd(fd) -> 0 | -errno
//
// Arguments that are not whole numbers in range give -EBADF, never a throw. Figures are doubles: exact up to
// 2^53 bytes.

#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <napi.h>

#include <cmath>
#include <cstddef>

namespace tapline {
namespace {

int FdArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) return -1;
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 1 << 30) || std::floor(d) != d) return -1;
  return static_cast<int>(d);
}

Napi::Value DupFd(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  if (fd < 0) return Napi::Number::New(info.Env(), -EBADF);
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return Napi::Number::New(info.Env(), copy < 0 ? -errno : copy);
}

Napi::Value TcpAcked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info);
  if (fd < 0) return Napi::Number::New(env, -EBADF);
  struct tcp_info ti = {};
  socklen_t len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return Napi::Number::New(env, -errno);
  if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received) {
    return Napi::Number::New(env, -ENOPROTOOPT);
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(uint32_t{0}, Napi::Number::New(env, static_cast<double>(ti.tcpi_bytes_acked)));
  out.Set(uint32_t{1}, Napi::Number::New(env, static_cast<double>(ti.tcpi_bytes_received)));
  return out;
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = FdArg(info);
  if (fd < 0) return Napi::Number::New(info.Env(), -EBADF);
  return Napi::Number::New(info.Env(), close(fd) == 0 ? 0 : -errno);
}

}  // namespace
}  // namespace tapline

static Napi::Object InitNet(Napi::Env env, Napi::Object exports) {
  exports.Set("dupFd", Napi::Function::New(env, tapline::DupFd));
  exports.Set("tcpAcked", Napi::Function::New(env, tapline::TcpAcked));
  exports.Set("closeFd", Napi::Function::New(env, tapline::CloseFd));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

NODE_API_MODULE(tapline_net, InitNet)
