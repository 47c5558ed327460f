// tapline capture addon: AF_PACKET + TPACKET_V3 ring, batched delivery to JavaScript.
// The record layout and the data flow are documented in af_packet.h.
//
// Lifetime:
//   new AfPacketSocket(opts)  opens, configures and binds the socket (throws on failure)
//   start(onBatch, onError)   starts polling; while polling, the object keeps itself alive (like a
//                             Node handle) and keeps the event loop alive unless unref() was called
//   pause() / resume()        stop / restart polling (back-pressure: the kernel ring fills, then drops)
//   close()                   stops polling, closes the fd, delivers what is left in the ring (also
//                             the block the kernel was still filling) in one last synchronous
//                             onBatch, unmaps the ring; safe to call twice
// If JavaScript drops an object that was never started (or was closed), its finalizer releases the
// socket. At environment teardown (process exit, worker exit or terminate) cleanup hooks close
// everything; an async cleanup hook keeps this library loaded until libuv has closed the handle.

#include "af_packet.h"

#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#ifndef PACKET_FANOUT_CBPF
#define PACKET_FANOUT_CBPF 6
#endif
#ifndef PACKET_FANOUT_DATA
#define PACKET_FANOUT_DATA 22
#endif
#ifndef PACKET_FANOUT_FLAG_DEFRAG
#define PACKET_FANOUT_FLAG_DEFRAG 0x8000
#endif
#ifndef TP_STATUS_VLAN_TPID_VALID
#define TP_STATUS_VLAN_TPID_VALID (1 << 6)
#endif

namespace tapline {
namespace {

constexpr uint32_t kMaxFilterInstructions = 4096;  // BPF_MAXINSNS

inline void PutLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void PutLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void PutLe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void PutBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline size_t Align8(size_t n) { return (n + (kRecordAlign - 1)) & ~static_cast<size_t>(kRecordAlign - 1); }

// An Error carrying errno details, shaped like Node's system errors: { code, errno, syscall }.
Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& detail = "") {
  std::string msg = std::string(syscall) + " failed: " + strerror(err);
  if (!detail.empty()) msg += " (" + detail + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

uint32_t GetU32(const Napi::Object& o, const char* key, uint32_t def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("option ") + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw Napi::RangeError::New(o.Env(), std::string("option ") + key + " must be an unsigned 32-bit integer");
  }
  return static_cast<uint32_t>(d);
}

int32_t GetI32(const Napi::Object& o, const char* key, int32_t def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("option ") + key + " must be a number");
  return v.As<Napi::Number>().Int32Value();
}

bool GetBool(const Napi::Object& o, const char* key, bool def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  return v.ToBoolean().Value();
}

// Interface indexes passed from JavaScript as an array of positive integers (absent: empty).
std::vector<int> GetIndexList(const Napi::Object& o, const char* key) {
  std::vector<int> out;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string("option ") + key + " must be an array");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 1 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int>(d))) {
      throw Napi::RangeError::New(o.Env(), std::string("option ") + key + " must hold interface indexes (>= 1)");
    }
    out.push_back(static_cast<int>(d));
  }
  return out;
}

// A classic BPF program passed from JavaScript as a Buffer of struct sock_filter (8 bytes each,
// host byte order: u16 code, u8 jt, u8 jf, u32 k).
bool GetFilter(const Napi::Object& o, const char* key, sock_fprog* prog) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return false;
  if (!v.IsBuffer()) throw Napi::TypeError::New(o.Env(), std::string("option ") + key + " must be a Buffer");
  Napi::Buffer<uint8_t> b = v.As<Napi::Buffer<uint8_t>>();
  if (b.Length() == 0 || b.Length() % sizeof(sock_filter) != 0 ||
      b.Length() / sizeof(sock_filter) > kMaxFilterInstructions) {
    throw Napi::RangeError::New(o.Env(), std::string("option ") + key +
                                             " must hold 1 to 4096 BPF instructions of 8 bytes each");
  }
  prog->len = static_cast<unsigned short>(b.Length() / sizeof(sock_filter));
  prog->filter = reinterpret_cast<sock_filter*>(b.Data());
  return true;
}

// Batch memory is recycled. Every batch is a fresh Buffer for JavaScript (its packets are views that
// consumers may keep), but the memory behind it comes from this pool and returns to it when V8
// collects the Buffer. Allocating fresh memory per wake-up instead costs a page fault and a page
// clear per 4 KiB, which measured as ~40% of the capture's CPU time.
class BatchPool {
 public:
  static constexpr size_t kMinChunk = 64 * 1024;
  static constexpr size_t kMaxPooledBytes = 64 * 1024 * 1024;

  ~BatchPool() {
    for (auto& list : free_) {
      for (uint8_t* p : list) std::free(p);
    }
  }

  // Returns memory for at least `size` bytes; `*cap` receives the chunk's real size.
  uint8_t* Get(size_t size, size_t* cap) {
    const size_t cls = SizeClass(size);
    *cap = kMinChunk << cls;
    if (cls < free_.size() && !free_[cls].empty()) {
      uint8_t* p = free_[cls].back();
      free_[cls].pop_back();
      pooled_ -= *cap;
      return p;
    }
    return static_cast<uint8_t*>(std::malloc(*cap));
  }

  void Put(uint8_t* p, size_t cap) {
    const size_t cls = SizeClass(cap);
    if (pooled_ + cap > kMaxPooledBytes) {
      std::free(p);
      return;
    }
    if (free_.size() <= cls) free_.resize(cls + 1);
    free_[cls].push_back(p);
    pooled_ += cap;
  }

 private:
  static size_t SizeClass(size_t size) {
    size_t cls = 0;
    while ((kMinChunk << cls) < size) cls++;
    return cls;
  }
  std::vector<std::vector<uint8_t*>> free_;
  size_t pooled_ = 0;
};

struct BatchHint {
  std::shared_ptr<BatchPool> pool;
  size_t cap;
};

class AfPacketSocket;

// The libuv poll handle and what its callbacks need. It outlives the socket object when needed:
// uv_close() completes later, in a callback that lives in this shared library. So that Node does not
// unload the library (worker exit) before that callback ran, an async cleanup hook is held from
// uv_poll_init() until the close callback, which removes it.
struct PollBox {
  uv_poll_t handle;
  AfPacketSocket* owner;  // null once closing
  napi_async_cleanup_hook_handle hook = nullptr;
};

class AfPacketSocket : public Napi::ObjectWrap<AfPacketSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "AfPacketSocket",
                       {
                           InstanceMethod<&AfPacketSocket::Start>("start"),
                           InstanceMethod<&AfPacketSocket::Pause>("pause"),
                           InstanceMethod<&AfPacketSocket::Resume>("resume"),
                           InstanceMethod<&AfPacketSocket::Close>("close"),
                           InstanceMethod<&AfPacketSocket::Stats>("stats"),
                           InstanceMethod<&AfPacketSocket::SetFilter>("setFilter"),
                           InstanceMethod<&AfPacketSocket::RefHandle>("ref"),
                           InstanceMethod<&AfPacketSocket::UnrefHandle>("unref"),
                           InstanceAccessor<&AfPacketSocket::GetRing>("ring"),
                           InstanceAccessor<&AfPacketSocket::GetClosed>("closed"),
                       });
  }

  explicit AfPacketSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AfPacketSocket>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "options object expected");
    Napi::Object o = info[0].As<Napi::Object>();

    ifindex_ = GetI32(o, "ifindex", 0);
    cooked_ = GetBool(o, "cooked", false);
    dedupeLoopback_ = GetBool(o, "dedupeLoopback", true);
    blockSize_ = GetU32(o, "blockSize", 1u << 18);
    blockCount_ = GetU32(o, "blockCount", 128);
    frameSize_ = GetU32(o, "frameSize", 2048);
    timeoutMs_ = GetU32(o, "timeoutMs", 10);
    maxBatchBytes_ = GetU32(o, "maxBatchBytes", 8u << 20);
    const bool promisc = GetBool(o, "promiscuous", false);
    // With ifindex 0 (every interface): the interfaces to put in promiscuous mode, each by its own
    // membership of this socket (the kernel drops them when the socket closes).
    const std::vector<int> promiscIfindexes = GetIndexList(o, "promiscIfindexes");
    const int32_t fanoutGroup = GetI32(o, "fanoutGroup", -1);
    const uint32_t fanoutMode = GetU32(o, "fanoutMode", PACKET_FANOUT_HASH);
    sock_fprog filter{};
    const bool hasFilter = GetFilter(o, "filter", &filter);
    sock_fprog fanoutFilter{};
    const bool hasFanoutFilter = GetFilter(o, "fanoutFilter", &fanoutFilter);

    const long page = sysconf(_SC_PAGESIZE);
    if (ifindex_ < 0) throw Napi::RangeError::New(env, "ifindex must be >= 0");
    if (blockSize_ == 0 || page <= 0 || blockSize_ % static_cast<uint32_t>(page) != 0) {
      throw Napi::RangeError::New(env, "blockSize must be a positive multiple of the page size");
    }
    if (blockCount_ < 1) throw Napi::RangeError::New(env, "blockCount must be >= 1");
    if (frameSize_ < TPACKET3_HDRLEN || frameSize_ % TPACKET_ALIGNMENT != 0 || frameSize_ > blockSize_) {
      throw Napi::RangeError::New(env, "frameSize must be a multiple of 16, >= TPACKET3_HDRLEN, <= blockSize");
    }
    if (static_cast<uint64_t>(blockSize_) * blockCount_ > (1ull << 40)) {
      throw Napi::RangeError::New(env, "ring too large");
    }
    if (promisc && ifindex_ == 0 && promiscIfindexes.empty()) {
      throw Napi::RangeError::New(env, "promiscuous mode needs a specific interface (ifindex > 0) or promiscIfindexes");
    }
    if (fanoutGroup > 0xffff) throw Napi::RangeError::New(env, "fanoutGroup must be 0..65535");
    if (maxBatchBytes_ == 0) maxBatchBytes_ = 1;
    // Nothing below may throw without releasing the socket: the destructor does not run when the
    // constructor throws, so every failure goes through Fail().

    // 1. The socket is created with protocol 0: it receives nothing until bind() below, so the ring
    //    never holds packets that predate the filter.
    fd_ = socket(AF_PACKET, (cooked_ ? SOCK_DGRAM : SOCK_RAW) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) throw ErrnoError(env, "socket", errno, "AF_PACKET");

    int version = TPACKET_V3;
    if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0) {
      Fail(env, "setsockopt", "PACKET_VERSION TPACKET_V3");
    }

    // 2. The ring. In TPACKET_V3 frames are variable-sized inside a block; tp_frame_size only has to
    //    be consistent with tp_frame_nr. The largest packet a block can hold is blockSize minus the
    //    block header, so blockSize must exceed the snaplen (checked by the TS side).
    tpacket_req3 req{};
    req.tp_block_size = blockSize_;
    req.tp_block_nr = blockCount_;
    req.tp_frame_size = frameSize_;
    req.tp_frame_nr = (blockSize_ / frameSize_) * blockCount_;
    req.tp_retire_blk_tov = timeoutMs_;
    req.tp_sizeof_priv = 0;
    req.tp_feature_req_word = 0;
    if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) {
      Fail(env, "setsockopt", "PACKET_RX_RING");
    }
    ringSize_ = static_cast<size_t>(blockSize_) * blockCount_;
    void* map = mmap(nullptr, ringSize_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (map == MAP_FAILED) Fail(env, "mmap", "packet ring");
    ring_ = static_cast<uint8_t*>(map);

    // 3. The filter, attached before bind() so that no unfiltered packet reaches the ring.
    if (hasFilter && setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof filter) != 0) {
      Fail(env, "setsockopt", "SO_ATTACH_FILTER");
    }

    // 4. Bind: all protocols, one interface (or all when ifindex is 0).
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = ifindex_;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Fail(env, "bind", "AF_PACKET");

    if (promisc) {
      const std::vector<int> one{ifindex_};
      for (const int index : ifindex_ > 0 ? one : promiscIfindexes) {
        packet_mreq mr{};
        mr.mr_ifindex = index;
        mr.mr_type = PACKET_MR_PROMISC;
        if (setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0) {
          if (errno == ENODEV && ifindex_ == 0) continue;  // an interface of the list went away since
          Fail(env, "setsockopt", "PACKET_ADD_MEMBERSHIP PACKET_MR_PROMISC");
        }
      }
    }

    // 5. Fanout (after bind: the kernel only lets a bound, running socket join a group).
    if (fanoutGroup >= 0) {
      const int arg = (fanoutGroup & 0xffff) | static_cast<int>((fanoutMode | PACKET_FANOUT_FLAG_DEFRAG) << 16);
      if (setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
        Fail(env, "setsockopt", "PACKET_FANOUT");
      }
      if (hasFanoutFilter &&
          setsockopt(fd_, SOL_PACKET, PACKET_FANOUT_DATA, &fanoutFilter, sizeof fanoutFilter) != 0) {
        Fail(env, "setsockopt", "PACKET_FANOUT_DATA");
      }
    }

    napi_add_env_cleanup_hook(env, CleanupHook, this);
    hookAdded_ = true;
  }

  ~AfPacketSocket() override {
    if (hookAdded_) {
      napi_remove_env_cleanup_hook(env_, CleanupHook, this);
      hookAdded_ = false;
    }
    CloseResources();
  }

 private:
  // Releases what the constructor acquired so far, then throws.
  [[noreturn]] void Fail(Napi::Env env, const char* syscall, const char* detail) {
    const int err = errno;
    CloseResources();
    throw ErrnoError(env, syscall, err, detail);
  }

  static void CleanupHook(void* arg) {
    auto* self = static_cast<AfPacketSocket*>(arg);
    self->hookAdded_ = false;
    self->CloseResources();
  }

  static void OnPollClosed(uv_handle_t* h) {
    auto* box = static_cast<PollBox*>(h->data);
    if (box->hook != nullptr) napi_remove_async_cleanup_hook(box->hook);
    delete box;
  }

  // Environment teardown while the handle is open: close everything; the close callback then lets
  // Node finish. If the handle is already closing, its pending close callback does that.
  static void OnAsyncCleanup(napi_async_cleanup_hook_handle hook, void* arg) {
    auto* box = static_cast<PollBox*>(arg);
    box->hook = hook;
    if (box->owner != nullptr) box->owner->CloseResources();
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    AfPacketSocket* self = static_cast<PollBox*>(handle->data)->owner;
    if (self == nullptr || self->closed_) return;
    // No JavaScript frame is below a libuv callback: nothing may escape as a C++ exception. Node-API
    // calls fail (and node-addon-api throws) when the environment is shutting down, e.g. a worker
    // calling process.exit(); then the packets of this wake-up are simply not delivered.
    try {
      self->HandlePoll(status);
    } catch (const Napi::Error&) {
      // environment shutting down; the cleanup hook closes the socket
    } catch (const std::exception&) {
      // e.g. std::bad_alloc: the blocks stay with us and are retried on the next wake-up
    }
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) throw Napi::Error::New(env, "socket is closed");
    if (poll_ != nullptr) throw Napi::Error::New(env, "already started");
    if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "start(onBatch, onError) expects two functions");
    }
    onBatch_ = Napi::Persistent(info[0].As<Napi::Function>());
    onError_ = Napi::Persistent(info[1].As<Napi::Function>());
    asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "tapline:af_packet");

    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      throw Napi::Error::New(env, "no event loop");
    }
    auto* box = new PollBox{};
    int rc = uv_poll_init(loop, &box->handle, fd_);
    if (rc != 0) {
      delete box;
      throw ErrnoError(env, "uv_poll_init", -rc);
    }
    box->owner = this;
    box->handle.data = box;
    if (napi_add_async_cleanup_hook(env, OnAsyncCleanup, box, &box->hook) != napi_ok) box->hook = nullptr;
    poll_ = &box->handle;
    if (!handleRef_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    Ref();  // keep this object alive while its handle exists
    selfRef_ = true;
    StartPolling(env);
    return env.Undefined();
  }

  void StartPolling(Napi::Env env) {
    if (poll_ == nullptr || polling_) return;
    int rc = uv_poll_start(poll_, UV_READABLE, OnPoll);
    if (rc != 0) throw ErrnoError(env, "uv_poll_start", -rc);
    polling_ = true;
  }

  Napi::Value Pause(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr && polling_) {
      uv_poll_stop(poll_);
      polling_ = false;
    }
    return info.Env().Undefined();
  }

  Napi::Value Resume(const Napi::CallbackInfo& info) {
    if (!closed_) StartPolling(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    handleRef_ = true;
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    handleRef_ = false;
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  // close(): the last packets are not lost. Closing the fd first makes the kernel stop writing into
  // the ring (packet_release waits for receivers in flight); the mapping stays valid until munmap, so
  // every retired block and the block the kernel was still filling are delivered in one last batch,
  // synchronously, before close() returns.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (draining_) return env.Undefined();  // close() from inside the last batch's callback
    if (!closed_ && poll_ != nullptr && ring_ != nullptr && !onBatch_.IsEmpty()) {
      draining_ = true;
      if (polling_) uv_poll_stop(poll_);
      polling_ = false;
      ReadKernelStats();
      ::close(fd_);
      fd_ = -1;
      Napi::HandleScope scope(env);
      DeliverReady(env, Value(), true);
      draining_ = false;
    }
    CloseResources();
    if (callDepth_ == 0) ReleaseJs();  // else done when the running callback returns
    if (!drainError_.IsEmpty()) {
      Napi::Value err = drainError_.Value();
      drainError_.Reset();
      throw Napi::Error(env, err);
    }
    return env.Undefined();
  }

  void ReleaseJs() {
    onBatch_.Reset();
    onError_.Reset();
    asyncContext_.reset();
    if (selfRef_) {
      selfRef_ = false;
      Unref();
    }
  }

  Napi::Value SetFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) throw Napi::Error::New(env, "socket is closed");
    Napi::Object holder = Napi::Object::New(env);
    holder.Set("filter", info.Length() > 0 ? info[0] : env.Undefined());
    sock_fprog prog{};
    if (!GetFilter(holder, "filter", &prog)) {
      if (setsockopt(fd_, SOL_SOCKET, SO_DETACH_FILTER, nullptr, 0) != 0 && errno != ENOENT) {
        throw ErrnoError(env, "setsockopt", errno, "SO_DETACH_FILTER");
      }
      return env.Undefined();
    }
    if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
      throw ErrnoError(env, "setsockopt", errno, "SO_ATTACH_FILTER");
    }
    return env.Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ReadKernelStats();
    Napi::Object s = Napi::Object::New(env);
    s.Set("packets", Napi::Number::New(env, static_cast<double>(kernelPackets_)));
    s.Set("drops", Napi::Number::New(env, static_cast<double>(kernelDrops_)));
    s.Set("freezeQueueCount", Napi::Number::New(env, static_cast<double>(kernelFreezes_)));
    s.Set("batches", Napi::Number::New(env, static_cast<double>(batches_)));
    s.Set("delivered", Napi::Number::New(env, static_cast<double>(delivered_)));
    s.Set("deliveredBytes", Napi::Number::New(env, static_cast<double>(deliveredBytes_)));
    s.Set("blocks", Napi::Number::New(env, static_cast<double>(blocks_)));
    s.Set("loopbackSkipped", Napi::Number::New(env, static_cast<double>(loopbackSkipped_)));
    s.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated_)));
    return s;
  }

  Napi::Value GetRing(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object r = Napi::Object::New(env);
    r.Set("blockSize", Napi::Number::New(env, blockSize_));
    r.Set("blockCount", Napi::Number::New(env, blockCount_));
    r.Set("frameSize", Napi::Number::New(env, frameSize_));
    r.Set("timeoutMs", Napi::Number::New(env, timeoutMs_));
    r.Set("cooked", Napi::Boolean::New(env, cooked_));
    r.Set("ifindex", Napi::Number::New(env, ifindex_));
    return r;
  }

  Napi::Value GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), closed_); }

  // Kernel counters are reset by every PACKET_STATISTICS read, so they are accumulated here.
  void ReadKernelStats() {
    if (fd_ < 0) return;
    tpacket_stats_v3 st{};
    socklen_t len = sizeof st;
    if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
      kernelPackets_ += st.tp_packets;  // the kernel already adds tp_drops into tp_packets
      kernelDrops_ += st.tp_drops;
      kernelFreezes_ += st.tp_freeze_q_cnt;
    }
  }

  // Idempotent; touches no JavaScript value, so it is safe from the env cleanup hook and finalizer.
  void CloseResources() {
    if (closed_) return;
    ReadKernelStats();
    closed_ = true;
    if (poll_ != nullptr) {
      if (polling_) uv_poll_stop(poll_);
      polling_ = false;
      static_cast<PollBox*>(poll_->data)->owner = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), OnPollClosed);
      poll_ = nullptr;
    }
    if (ring_ != nullptr) {
      munmap(ring_, ringSize_);
      ring_ = nullptr;
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  tpacket_block_desc* Block(uint32_t i) const {
    return reinterpret_cast<tpacket_block_desc*>(ring_ + static_cast<size_t>(i) * blockSize_);
  }

  static const sockaddr_ll* LinkAddr(const tpacket3_hdr* h) {
    return reinterpret_cast<const sockaddr_ll*>(reinterpret_cast<const uint8_t*>(h) +
                                                TPACKET_ALIGN(sizeof(tpacket3_hdr)));
  }

  bool IsLoopback(int ifindex, uint16_t hatype) {
    if (hatype == ARPHRD_LOOPBACK) return true;
    auto it = loopbackCache_.find(ifindex);
    if (it != loopbackCache_.end()) return it->second;
    bool loop = false;
    ifreq ifr{};
    if (if_indextoname(static_cast<unsigned>(ifindex), ifr.ifr_name) != nullptr &&
        ioctl(fd_, SIOCGIFFLAGS, &ifr) == 0) {
      loop = (ifr.ifr_flags & IFF_LOOPBACK) != 0;
    }
    loopbackCache_.emplace(ifindex, loop);
    return loop;
  }

  bool Skip(const tpacket3_hdr* h) {
    if (!dedupeLoopback_) return false;
    const sockaddr_ll* sll = LinkAddr(h);
    return sll->sll_pkttype == PACKET_OUTGOING && IsLoopback(sll->sll_ifindex, sll->sll_hatype);
  }

  bool HasVlan(const tpacket3_hdr* h) const {
    return (h->tp_status & TP_STATUS_VLAN_VALID) != 0 && (cooked_ || h->tp_snaplen >= 12);
  }

  uint32_t Extra(const tpacket3_hdr* h) const { return (cooked_ ? kSllHeaderSize : 0) + (HasVlan(h) ? kVlanTagSize : 0); }

  // Copies the block's packets into `out` at `off` as records; returns the new offset.
  size_t CopyBlock(tpacket_block_desc* bd, uint8_t* out, size_t cap, size_t off, uint32_t* count) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(bd) + bd->hdr.bh1.offset_to_first_pkt;
    const uint32_t n = bd->hdr.bh1.num_pkts;
    for (uint32_t i = 0; i < n; i++) {
      auto* h = reinterpret_cast<const tpacket3_hdr*>(p);
      p += h->tp_next_offset;
      if (Skip(h)) {
        loopbackSkipped_++;
        continue;
      }
      const sockaddr_ll* sll = LinkAddr(h);
      const uint8_t* data = reinterpret_cast<const uint8_t*>(h) + h->tp_mac;
      const uint32_t snap = h->tp_snaplen;
      const bool vlan = HasVlan(h);
      const uint32_t extra = Extra(h);
      const uint32_t caplen = snap + extra;
      const uint32_t origlen = h->tp_len + extra;
      if (off + Align8(kRecordHeaderSize + caplen) > cap) continue;  // cannot happen (see the bound)
      uint8_t flags = 0;
      if (vlan) flags |= kFlagVlanReinserted;
      if (cooked_) flags |= kFlagSllSynthesized;
      if (snap < h->tp_len) {
        flags |= kFlagTruncated;
        truncated_++;
      }
      const uint16_t tpid =
          (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid : static_cast<uint16_t>(ETH_P_8021Q);
      const uint16_t tci = static_cast<uint16_t>(h->hv1.tp_vlan_tci);

      uint8_t* rec = out + off;
      PutLe64(rec, static_cast<uint64_t>(h->tp_sec) * 1000000000ull + h->tp_nsec);
      PutLe32(rec + 8, static_cast<uint32_t>(sll->sll_ifindex));
      PutLe32(rec + 12, caplen);
      PutLe32(rec + 16, origlen);
      rec[20] = sll->sll_pkttype;
      rec[21] = flags;
      PutLe16(rec + 22, sll->sll_hatype);
      uint8_t* d = rec + kRecordHeaderSize;
      if (cooked_) {
        // LINUX_SLL header (all fields big-endian): pkttype, hatype, halen, 8 address bytes, protocol.
        PutBe16(d, sll->sll_pkttype);
        PutBe16(d + 2, sll->sll_hatype);
        PutBe16(d + 4, sll->sll_halen);
        memset(d + 6, 0, 8);
        memcpy(d + 6, sll->sll_addr, sll->sll_halen < 8 ? sll->sll_halen : 8);
        if (vlan) {
          PutBe16(d + 14, tpid);
          PutBe16(d + 16, tci);
          memcpy(d + 18, &sll->sll_protocol, 2);
          d += kSllHeaderSize + kVlanTagSize;
        } else {
          memcpy(d + 14, &sll->sll_protocol, 2);
          d += kSllHeaderSize;
        }
        memcpy(d, data, snap);
      } else if (vlan) {
        memcpy(d, data, 12);
        PutBe16(d + 12, tpid);
        PutBe16(d + 14, tci);
        memcpy(d + 16, data + 12, snap - 12);
      } else {
        memcpy(d, data, snap);
      }
      const size_t used = kRecordHeaderSize + caplen;
      const size_t size = Align8(used);
      if (size > used) memset(rec + used, 0, size - used);
      off += size;
      (*count)++;
    }
    return off;
  }

  // The wake-up path below uses the plain Node-API C functions and checks every status: while the
  // environment shuts down (worker terminate/exit) those calls fail, and node-addon-api would abort
  // the process while building an Error object for the failure. Then nothing is delivered.
  void HandlePoll(int status) {
    napi_env env = env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value self = nullptr;  // a local handle keeps this object alive during the callback
    if (napi_get_reference_value(env, static_cast<napi_ref>(*this), &self) == napi_ok && self != nullptr) {
      if (status < 0) {
        // libuv stops the handle on POLLERR; report the socket's pending error (ENETDOWN when the
        // interface went away) once.
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0) err = -status;
        if (poll_ != nullptr && polling_) uv_poll_stop(poll_);
        polling_ = false;
        napi_value e = ErrnoValue(env, "poll", err, "capture socket");
        if (e != nullptr) CallJs(env, self, onError_, 1, &e);
      } else {
        DeliverReady(env, self);
      }
    }
    napi_close_handle_scope(env, scope);
  }

  static napi_value ErrnoValue(napi_env env, const char* syscall, int err, const char* detail) {
    const std::string msg = std::string(syscall) + " failed: " + strerror(err) + " (" + detail + ")";
    napi_value m, code, e, n, sc;
    if (napi_create_string_utf8(env, msg.c_str(), msg.size(), &m) != napi_ok ||
        napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code) != napi_ok ||
        napi_create_error(env, code, m, &e) != napi_ok) {
      return nullptr;
    }
    if (napi_create_int32(env, err, &n) == napi_ok) napi_set_named_property(env, e, "errno", n);
    if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc) == napi_ok) {
      napi_set_named_property(env, e, "syscall", sc);
    }
    return e;
  }

  static void FinalizeBatch(napi_env, void* data, void* hint) {
    auto* h = static_cast<BatchHint*>(hint);
    h->pool->Put(static_cast<uint8_t*>(data), h->cap);
    delete h;
  }

  // `final`: the socket is closed (the kernel no longer writes), so the block it was filling can be
  // read too. That block is recognised by its sequence number: the kernel numbers blocks as it opens
  // them, so it follows the last retired one; a stale block handed back earlier has an older number.
  void DeliverReady(napi_env env, napi_value self, bool final = false) {
    // Which blocks are ready, and an upper bound of the bytes their records take: a record (24-byte
    // header + at most 20 synthesized bytes + padding) is never larger than the kernel's per-packet
    // space in the block (tpacket3_hdr + sockaddr_ll + link header room, ≥ 82 bytes before the data),
    // so the block's used length bounds it. Reading only block headers here keeps packets untouched
    // until the single copy pass.
    uint32_t ready = 0;
    size_t bound = 0;
    uint32_t idx = cur_;
    uint64_t seq = lastSeq_;
    while (ready < blockCount_) {
      tpacket_block_desc* bd = Block(idx);
      if ((__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) {
        if (final && bd->hdr.bh1.seq_num == seq + 1 && bd->hdr.bh1.num_pkts > 0) {
          bound += bd->hdr.bh1.blk_len;
          ready++;
        }
        break;
      }
      seq = bd->hdr.bh1.seq_num;
      bound += bd->hdr.bh1.blk_len;
      ready++;
      idx = (idx + 1) % blockCount_;
      if (!final && bound >= maxBatchBytes_) break;  // the rest stays ready: the poll fires again at once
    }
    if (ready == 0) return;

    // Copy into one chunk, handing each block back to the kernel right after copying it.
    size_t cap = 0;
    uint8_t* out = pool_->Get(bound, &cap);
    if (out == nullptr) {
      // Out of memory: the blocks stay ready and are retried on the next wake-up; say so once.
      napi_value e = ErrnoValue(env, "malloc", ENOMEM, "capture batch");
      if (e != nullptr) CallJs(env, self, onError_, 1, &e);
      return;
    }
    size_t off = 0;
    uint32_t count = 0;
    for (uint32_t i = 0; i < ready; i++) {
      tpacket_block_desc* bd = Block(cur_);
      off = CopyBlock(bd, out, cap, off, &count);
      lastSeq_ = bd->hdr.bh1.seq_num;
      __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      cur_ = (cur_ + 1) % blockCount_;
      blocks_++;
    }
    if (count == 0) {
      pool_->Put(out, cap);
      return;
    }
    auto* hint = new BatchHint{pool_, cap};
    napi_value buf;
    if (napi_create_external_buffer(env, off, out, FinalizeBatch, hint, &buf) != napi_ok) {
      pool_->Put(out, cap);  // only when the environment is shutting down: nobody to deliver to
      delete hint;
      return;
    }
    batches_++;
    delivered_ += count;
    deliveredBytes_ += off;
    napi_value args[2] = {buf, nullptr};
    if (napi_create_uint32(env, count, &args[1]) != napi_ok) return;
    CallJs(env, self, onBatch_, 2, args);
  }

  void CallJs(napi_env env, napi_value self, Napi::FunctionReference& fn, size_t argc, const napi_value* argv) {
    if (fn.IsEmpty() || !asyncContext_) return;
    napi_value f = nullptr;
    if (napi_get_reference_value(env, static_cast<napi_ref>(fn), &f) != napi_ok || f == nullptr) return;
    callDepth_++;
    napi_value result;
    const napi_status st =
        napi_make_callback(env, static_cast<napi_async_context>(*asyncContext_), self, f, argc, argv, &result);
    callDepth_--;
    if (st == napi_pending_exception) {
      // The callback threw. Inside close() (the last batch) the exception goes to close()'s caller;
      // from a libuv wake-up it is reported like any uncaught exception.
      napi_value err = nullptr;
      napi_valuetype type = napi_undefined;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok && err != nullptr &&
          napi_typeof(env, err, &type) == napi_ok && type != napi_undefined) {
        if (draining_) {
          napi_ref ref;
          if (napi_create_reference(env, err, 1, &ref) == napi_ok) drainError_ = Napi::Reference<Napi::Value>(env, ref);
        } else {
          napi_fatal_exception(env, err);
        }
      }
    }
    if (closed_ && callDepth_ == 0) ReleaseJs();
  }


  napi_env env_;
  int fd_ = -1;
  uint8_t* ring_ = nullptr;
  size_t ringSize_ = 0;
  uint32_t blockSize_ = 0;
  uint32_t blockCount_ = 0;
  uint32_t frameSize_ = 0;
  uint32_t timeoutMs_ = 0;
  uint32_t cur_ = 0;
  size_t maxBatchBytes_ = 0;
  int ifindex_ = 0;
  bool cooked_ = false;
  bool dedupeLoopback_ = true;

  uv_poll_t* poll_ = nullptr;
  bool polling_ = false;
  bool closed_ = false;
  bool selfRef_ = false;
  bool handleRef_ = true;
  bool hookAdded_ = false;
  bool draining_ = false;
  int callDepth_ = 0;
  uint64_t lastSeq_ = 0;  // sequence number of the last block delivered
  Napi::FunctionReference onBatch_;
  Napi::FunctionReference onError_;
  Napi::Reference<Napi::Value> drainError_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
  std::unordered_map<int, bool> loopbackCache_;
  std::shared_ptr<BatchPool> pool_ = std::make_shared<BatchPool>();

  uint64_t kernelPackets_ = 0;
  uint64_t kernelDrops_ = 0;
  uint64_t kernelFreezes_ = 0;
  uint64_t batches_ = 0;
  uint64_t delivered_ = 0;
  uint64_t deliveredBytes_ = 0;
  uint64_t blocks_ = 0;
  uint64_t loopbackSkipped_ = 0;
  uint64_t truncated_ = 0;
};

// interfaceInfo(name) -> { name, index, flags, mtu, hatype } (throws ENODEV-style errors).
Napi::Value InterfaceInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "interface name expected");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.empty() || name.size() >= IFNAMSIZ) throw ErrnoError(env, "ioctl", ENODEV, name);
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw ErrnoError(env, "socket", errno, "interface lookup");
  ifreq ifr{};
  memcpy(ifr.ifr_name, name.data(), name.size());
  auto call = [&](unsigned long req, const char* what) {
    if (ioctl(s, req, &ifr) != 0) {
      const int err = errno;
      ::close(s);
      throw ErrnoError(env, "ioctl", err, std::string(what) + " " + name);
    }
  };
  Napi::Object r = Napi::Object::New(env);
  r.Set("name", name);
  call(SIOCGIFINDEX, "SIOCGIFINDEX");
  r.Set("index", ifr.ifr_ifindex);
  call(SIOCGIFFLAGS, "SIOCGIFFLAGS");
  r.Set("flags", static_cast<uint32_t>(static_cast<uint16_t>(ifr.ifr_flags)));
  call(SIOCGIFMTU, "SIOCGIFMTU");
  r.Set("mtu", ifr.ifr_mtu);
  call(SIOCGIFHWADDR, "SIOCGIFHWADDR");
  r.Set("hatype", static_cast<uint32_t>(ifr.ifr_hwaddr.sa_family));
  ::close(s);
  return r;
}

// interfaceName(index) -> string | undefined
Napi::Value InterfaceName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "interface index expected");
  char buf[IF_NAMESIZE] = {0};
  const uint32_t idx = info[0].As<Napi::Number>().Uint32Value();
  if (if_indextoname(idx, buf) == nullptr) return env.Undefined();
  return Napi::String::New(env, buf);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("AfPacketSocket", AfPacketSocket::Define(env));
  exports.Set("interfaceInfo", Napi::Function::New(env, InterfaceInfo, "interfaceInfo"));
  exports.Set("interfaceName", Napi::Function::New(env, InterfaceName, "interfaceName"));
  Napi::Object c = Napi::Object::New(env);
  c.Set("RECORD_HEADER_SIZE", kRecordHeaderSize);
  c.Set("RECORD_ALIGN", kRecordAlign);
  c.Set("FLAG_VLAN_REINSERTED", kFlagVlanReinserted);
  c.Set("FLAG_SLL_SYNTHESIZED", kFlagSllSynthesized);
  c.Set("FLAG_TRUNCATED", kFlagTruncated);
  c.Set("TPACKET3_HDRLEN", static_cast<uint32_t>(TPACKET3_HDRLEN));
  c.Set("PAGE_SIZE", static_cast<double>(sysconf(_SC_PAGESIZE)));
  exports.Set("constants", c);
  exports.Set("abiVersion", 1);
  return exports;
}

}  // namespace
}  // namespace tapline

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tapline::Init(env, exports); }

NODE_API_MODULE(tapline_capture, InitModule)
