// tapline libpcap engine: libpcap opened with dlopen at run time, batched delivery to JavaScript.
// The data flow, the batch layout and why no libpcap header is needed are in libpcap.h.
//
// Exports (module tapline_libpcap):
//   load(paths)                      opens the first of `paths` that is a usable libpcap, once per
//                                    process; returns { loaded, path, version, error }
//   compileBpf(expr, dlt, snaplen)   pcap_open_dead + pcap_compile → [{ code, jt, jf, k }, ...];
//                                    throws an Error (code PCAP_COMPILE) whose message is pcap_geterr's text
//   PcapHandle(opts)                 a live capture, created and activated by the constructor
//
// PcapHandle lifetime:
//   new PcapHandle(opts)         pcap_create, the settings, pcap_activate, non-blocking (throws on
//                                failure; error.code is the PCAP_ERROR_* name, error.pcapStatus the number)
//   start(onBatch, onError, onEnd)  polls the selectable fd; while started the object keeps itself
//                                alive and keeps the event loop alive unless unref() was called
//   pause() / resume()           stop / restart polling (back-pressure: libpcap's ring fills, the kernel drops)
//   close()                      returns true when it drains: the handle stays open for the read timeout
//                                plus a margin (or opts.stopWaitMs), so that the block the kernel was
//                                filling is retired, then everything left is delivered, the handle closed
//                                and onEnd() called.
//                                Returns false when it closed at once (not started, failed, or
//                                close(true)); then no callback follows. Safe to call twice.
// At environment teardown a cleanup hook closes the handle without calling JavaScript.

#include "libpcap.h"

#include "af_packet.h"

#include <napi.h>
#include <uv.h>

#include <dlfcn.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <linux/if_packet.h>
#include <sys/socket.h>
#endif

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tapline {
namespace {

using pcapabi::bpf_program;
using pcapabi::pcap_pkthdr;
using pcapabi::pcap_t;

// ---- the library ----------------------------------------------------------------------------------

struct Library {
  bool attempted = false;
  bool loaded = false;
  std::string path;
  std::string version;
  std::string error;
  pcapabi::Api api{};
};

// Process-wide: opened once and never closed (handles in any worker may use it until process exit).
Library g_lib;
std::mutex g_libMutex;

template <typename F>
bool Resolve(void* h, const char* name, F* out, std::vector<std::string>* missing) {
  dlerror();
  void* sym = dlsym(h, name);
  *out = reinterpret_cast<F>(sym);
  if (sym == nullptr && missing != nullptr) missing->push_back(name);
  return sym != nullptr;
}

// Fills `api` from `h`; returns the names of the required symbols that are missing.
std::vector<std::string> ResolveAll(void* h, pcapabi::Api* api) {
  std::vector<std::string> missing;
  Resolve(h, "pcap_create", &api->create, &missing);
  Resolve(h, "pcap_set_snaplen", &api->set_snaplen, &missing);
  Resolve(h, "pcap_set_promisc", &api->set_promisc, &missing);
  Resolve(h, "pcap_set_timeout", &api->set_timeout, &missing);
  Resolve(h, "pcap_set_buffer_size", &api->set_buffer_size, &missing);
  Resolve(h, "pcap_can_set_rfmon", &api->can_set_rfmon, &missing);
  Resolve(h, "pcap_set_rfmon", &api->set_rfmon, &missing);
  Resolve(h, "pcap_activate", &api->activate, &missing);
  Resolve(h, "pcap_close", &api->close, &missing);
  Resolve(h, "pcap_dispatch", &api->dispatch, &missing);
  Resolve(h, "pcap_setfilter", &api->setfilter, &missing);
  Resolve(h, "pcap_compile", &api->compile, &missing);
  Resolve(h, "pcap_freecode", &api->freecode, &missing);
  Resolve(h, "pcap_geterr", &api->geterr, &missing);
  Resolve(h, "pcap_statustostr", &api->statustostr, &missing);
  Resolve(h, "pcap_datalink", &api->datalink, &missing);
  Resolve(h, "pcap_snapshot", &api->snapshot, &missing);
  Resolve(h, "pcap_stats", &api->stats, &missing);
  Resolve(h, "pcap_setnonblock", &api->setnonblock, &missing);
  Resolve(h, "pcap_get_selectable_fd", &api->get_selectable_fd, &missing);
  Resolve(h, "pcap_open_dead", &api->open_dead, &missing);
  Resolve(h, "pcap_lookupnet", &api->lookupnet, &missing);
  Resolve(h, "pcap_lib_version", &api->lib_version, &missing);
  Resolve(h, "pcap_set_immediate_mode", &api->set_immediate_mode, nullptr);
  Resolve(h, "pcap_set_tstamp_type", &api->set_tstamp_type, nullptr);
  Resolve(h, "pcap_tstamp_type_name_to_val", &api->tstamp_type_name_to_val, nullptr);
  Resolve(h, "pcap_set_tstamp_precision", &api->set_tstamp_precision, nullptr);
  Resolve(h, "pcap_get_tstamp_precision", &api->get_tstamp_precision, nullptr);
  Resolve(h, "pcap_set_datalink", &api->set_datalink, nullptr);
  return missing;
}

void LoadLibrary(const std::vector<std::string>& paths) {
  std::lock_guard<std::mutex> lock(g_libMutex);
  if (g_lib.attempted) return;
  g_lib.attempted = true;
  std::string errors;
  for (const std::string& p : paths) {
    void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* e = dlerror();
      errors += (errors.empty() ? "" : "; ") + std::string(e != nullptr ? e : (p + ": cannot open"));
      continue;
    }
    pcapabi::Api api{};
    std::vector<std::string> missing = ResolveAll(h, &api);
    if (!missing.empty()) {
      std::string list;
      for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
      errors += (errors.empty() ? "" : "; ") + p + ": not a usable libpcap (missing " + list + ")";
      dlclose(h);
      continue;
    }
    g_lib.api = api;
    g_lib.loaded = true;
    g_lib.path = p;
    const char* v = api.lib_version();
    g_lib.version = v != nullptr ? v : "";
    return;
  }
  g_lib.error = paths.empty() ? "no library names given" : errors;
}

const pcapabi::Api* Api(Napi::Env env) {
  if (!g_lib.loaded) {
    Napi::Error e = Napi::Error::New(env, "libpcap is not loaded" + (g_lib.error.empty() ? "" : " (" + g_lib.error + ")"));
    e.Set("code", Napi::String::New(env, "LIBPCAP_MISSING"));
    throw e;
  }
  return &g_lib.api;
}

// load(paths: string[]) -> { loaded, path, version, error }
Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> paths;
  if (info.Length() > 0 && info[0].IsArray()) {
    Napi::Array a = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value v = a.Get(i);
      if (v.IsString()) paths.push_back(v.As<Napi::String>().Utf8Value());
    }
  }
  LoadLibrary(paths);
  Napi::Object r = Napi::Object::New(env);
  r.Set("loaded", Napi::Boolean::New(env, g_lib.loaded));
  if (g_lib.loaded) {
    r.Set("path", g_lib.path);
    r.Set("version", g_lib.version);
  } else {
    r.Set("error", g_lib.error);
  }
  return r;
}

// ---- helpers --------------------------------------------------------------------------------------

const char* StatusName(int status) {
  switch (status) {
    case -1: return "PCAP_ERROR";
    case -2: return "PCAP_ERROR_BREAK";
    case -3: return "PCAP_ERROR_NOT_ACTIVATED";
    case -4: return "PCAP_ERROR_ACTIVATED";
    case -5: return "PCAP_ERROR_NO_SUCH_DEVICE";
    case -6: return "PCAP_ERROR_RFMON_NOTSUP";
    case -7: return "PCAP_ERROR_NOT_RFMON";
    case -8: return "PCAP_ERROR_PERM_DENIED";
    case -9: return "PCAP_ERROR_IFACE_NOT_UP";
    case -10: return "PCAP_ERROR_CANTSET_TSTAMP_TYPE";
    case -11: return "PCAP_ERROR_PROMISC_PERM_DENIED";
    case -12: return "PCAP_ERROR_TSTAMP_PRECISION_NOTSUP";
    case 1: return "PCAP_WARNING";
    case 2: return "PCAP_WARNING_PROMISC_NOTSUP";
    case 3: return "PCAP_WARNING_TSTAMP_TYPE_NOTSUP";
    default: return "PCAP_ERROR";
  }
}

// An Error for a libpcap failure: { message, code: 'PCAP_ERROR_*', pcapStatus }.
Napi::Error PcapError(Napi::Env env, int status, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, StatusName(status)));
  e.Set("pcapStatus", Napi::Number::New(env, status));
  return e;
}

// "<statustostr>: <geterr>" without repeating what the two say alike.
std::string StatusText(const pcapabi::Api* api, pcap_t* p, int status) {
  std::string s = api->statustostr(status);
  const char* detail = p != nullptr ? api->geterr(p) : nullptr;
  // PCAP_ERROR's text, "Generic error", adds nothing to libpcap's own message ("The interface disappeared").
  if (detail != nullptr && detail[0] != '\0' && status == pcapabi::kError) return detail;
  if (detail != nullptr && detail[0] != '\0' && s != detail) s += std::string(": ") + detail;
  return s;
}

inline void PutLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void PutLe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline size_t Align8(size_t n) { return (n + (kRecordAlign - 1)) & ~static_cast<size_t>(kRecordAlign - 1); }

Napi::Value InstructionsToJs(Napi::Env env, const bpf_program& prog) {
  Napi::Array out = Napi::Array::New(env, prog.bf_len);
  for (unsigned int i = 0; i < prog.bf_len; i++) {
    const pcapabi::bpf_insn& in = prog.bf_insns[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("code", Napi::Number::New(env, in.code));
    o.Set("jt", Napi::Number::New(env, in.jt));
    o.Set("jf", Napi::Number::New(env, in.jf));
    o.Set("k", Napi::Number::New(env, in.k));
    out.Set(i, o);
  }
  return out;
}

// compileBpf(expression, dlt, snaplen, optimize = true) -> [{ code, jt, jf, k }]
Napi::Value CompileBpf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const pcapabi::Api* api = Api(env);
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "compileBpf(expression, dlt, snaplen) expects a string and two numbers");
  }
  const std::string expr = info[0].As<Napi::String>().Utf8Value();
  const int dlt = info[1].As<Napi::Number>().Int32Value();
  const int snaplen = info[2].As<Napi::Number>().Int32Value();
  const bool optimize = info.Length() < 4 || info[3].ToBoolean().Value();
  pcap_t* p = api->open_dead(dlt, snaplen);
  if (p == nullptr) throw PcapError(env, pcapabi::kError, "pcap_open_dead failed");
  bpf_program prog{};
  if (api->compile(p, &prog, expr.c_str(), optimize ? 1 : 0, pcapabi::kNetmaskUnknown) != 0) {
    Napi::Error e = PcapError(env, pcapabi::kError, api->geterr(p));
    e.Set("code", Napi::String::New(env, "PCAP_COMPILE"));
    api->close(p);
    throw e;
  }
  Napi::Value out = InstructionsToJs(env, prog);
  api->freecode(&prog);
  api->close(p);
  return out;
}

// ---- batch memory ---------------------------------------------------------------------------------

// Batches are Buffers JavaScript may keep (packets are views into them). Chunks of the standard size
// return to this pool when V8 collects their Buffer, so a steady capture does not fault in fresh
// pages on every wake-up; larger chunks (a batch that outgrew the standard size) are freed.
class ChunkPool {
 public:
  static constexpr size_t kChunk = 256 * 1024;
  static constexpr size_t kMaxPooled = 64;

  ~ChunkPool() {
    for (uint8_t* p : free_) std::free(p);
  }
  uint8_t* Get() {
    if (!free_.empty()) {
      uint8_t* p = free_.back();
      free_.pop_back();
      return p;
    }
    return static_cast<uint8_t*>(std::malloc(kChunk));
  }
  void Put(uint8_t* p, size_t cap) {
    if (cap == kChunk && free_.size() < kMaxPooled) {
      free_.push_back(p);
    } else {
      std::free(p);
    }
  }

 private:
  std::vector<uint8_t*> free_;
};

struct ChunkHint {
  std::shared_ptr<ChunkPool> pool;
  size_t cap;
};

void FinalizeChunk(napi_env, void* data, void* hint) {
  auto* h = static_cast<ChunkHint*>(hint);
  h->pool->Put(static_cast<uint8_t*>(data), h->cap);
  delete h;
}

// ---- the live handle ------------------------------------------------------------------------------

class PcapHandle;

// libuv handles and what their callbacks need; freed when both handles are closed, which happens
// after the PcapHandle may be gone. An async cleanup hook keeps this library loaded until then.
struct UvBox {
  uv_poll_t poll;
  uv_timer_t timer;
  PcapHandle* owner;  // null once closing
  int open = 0;
  napi_async_cleanup_hook_handle hook = nullptr;
};

uint32_t GetU32(const Napi::Object& o, const char* key, uint32_t def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("option ") + key + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 2147483647.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw Napi::RangeError::New(o.Env(), std::string("option ") + key + " must be an integer from 0 to 2^31-1");
  }
  return static_cast<uint32_t>(d);
}

bool GetBool(const Napi::Object& o, const char* key, bool def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  return v.ToBoolean().Value();
}

std::string GetString(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return "";
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("option ") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

class PcapHandle : public Napi::ObjectWrap<PcapHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PcapHandle",
                       {
                           InstanceMethod<&PcapHandle::Start>("start"),
                           InstanceMethod<&PcapHandle::Pause>("pause"),
                           InstanceMethod<&PcapHandle::Resume>("resume"),
                           InstanceMethod<&PcapHandle::Close>("close"),
                           InstanceMethod<&PcapHandle::Stats>("stats"),
                           InstanceMethod<&PcapHandle::SetFilter>("setFilter"),
                           InstanceMethod<&PcapHandle::RefHandle>("ref"),
                           InstanceMethod<&PcapHandle::UnrefHandle>("unref"),
                           InstanceAccessor<&PcapHandle::GetInfo>("info"),
                           InstanceAccessor<&PcapHandle::GetClosed>("closed"),
                       });
  }

  explicit PcapHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PcapHandle>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    api_ = Api(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "options object expected");
    Napi::Object o = info[0].As<Napi::Object>();
    device_ = GetString(o, "device");
    const uint32_t snaplen = GetU32(o, "snaplen", 65535);
    const bool promisc = GetBool(o, "promiscuous", false);
    timeoutMs_ = GetU32(o, "timeoutMs", 10);
    const uint32_t bufferSize = GetU32(o, "bufferSize", 0);
    immediate_ = GetBool(o, "immediate", false);
    const bool rfmon = GetBool(o, "monitor", false);
    const std::string tstampType = GetString(o, "timestampType");
    wallClock_ = GetBool(o, "wallClock", false);
    maxBatchBytes_ = GetU32(o, "maxBatchBytes", 8u << 20);
    if (maxBatchBytes_ == 0) maxBatchBytes_ = 1;
    if (device_.empty()) throw Napi::TypeError::New(env, "option device must be a non-empty string");
    if (snaplen == 0) throw Napi::RangeError::New(env, "snaplen must be positive");

    char errbuf[pcapabi::kErrbufSize] = {0};
    p_ = api_->create(device_.c_str(), errbuf);
    if (p_ == nullptr) throw PcapError(env, pcapabi::kError, std::string("pcap_create: ") + errbuf);
    // From here every failure closes p_ (the destructor does not run when the constructor throws).
    Check(env, api_->set_snaplen(p_, static_cast<int>(snaplen)), "pcap_set_snaplen");
    Check(env, api_->set_promisc(p_, promisc ? 1 : 0), "pcap_set_promisc");
    Check(env, api_->set_timeout(p_, static_cast<int>(timeoutMs_)), "pcap_set_timeout");
    if (bufferSize > 0) Check(env, api_->set_buffer_size(p_, static_cast<int>(bufferSize)), "pcap_set_buffer_size");
    if (immediate_) {
      if (api_->set_immediate_mode != nullptr) {
        Check(env, api_->set_immediate_mode(p_, 1), "pcap_set_immediate_mode");
      } else {
        warnings_.push_back("immediate mode is not supported by this libpcap (before 1.5); using the read timeout");
        immediate_ = false;
      }
    }
    if (rfmon) {
      // As gor (gopacket's SetRFMon): when the device cannot do monitor mode, go on without it.
      const int can = api_->can_set_rfmon(p_);
      if (can == 1) {
        Check(env, api_->set_rfmon(p_, 1), "pcap_set_rfmon");
      } else {
        warnings_.push_back("monitor mode is not available on " + device_ + ", ignored" +
                            (can < 0 ? " (" + StatusText(api_, p_, can) + ")" : ""));
      }
    }
    if (!tstampType.empty()) {
      if (api_->tstamp_type_name_to_val == nullptr || api_->set_tstamp_type == nullptr) {
        Fail(env, PcapError(env, pcapabi::kError, "this libpcap cannot choose the time stamp type (needs 1.2 or later)"));
      }
      const int val = api_->tstamp_type_name_to_val(tstampType.c_str());
      if (val < 0) {
        Napi::Error e = PcapError(env, pcapabi::kError, "unknown time stamp type \"" + tstampType + "\"");
        e.Set("code", Napi::String::New(env, "PCAP_BAD_TSTAMP_TYPE"));
        Fail(env, e);
      }
      const int rc = api_->set_tstamp_type(p_, val);
      if (rc < 0) Check(env, rc, "pcap_set_tstamp_type");
      if (rc > 0) {
        warnings_.push_back("time stamp type \"" + tstampType + "\" is not supported by " + device_ +
                            "; libpcap uses its default");
      }
    }
    if (!wallClock_ && api_->set_tstamp_precision != nullptr) {
      nano_ = api_->set_tstamp_precision(p_, pcapabi::kTstampPrecisionNano) == 0;
    }

    const int rc = api_->activate(p_);
    if (rc < 0) Fail(env, PcapError(env, rc, StatusText(api_, p_, rc)));
    if (rc > 0) warnings_.push_back(StatusText(api_, p_, rc));
    if (nano_ && api_->get_tstamp_precision != nullptr) {
      nano_ = api_->get_tstamp_precision(p_) == pcapabi::kTstampPrecisionNano;
    }
    if (api_->setnonblock(p_, 1, errbuf) != 0) {
      Fail(env, PcapError(env, pcapabi::kError, std::string("pcap_setnonblock: ") + errbuf));
    }
    fd_ = api_->get_selectable_fd(p_);
    if (fd_ < 0) Fail(env, PcapError(env, pcapabi::kError, "this platform's libpcap has no selectable descriptor"));
    if (promisc && device_ == "any") PromiscuousOnEvery(GetIndexes(o, "promiscIfindexes"));
    // opts.linkType: ask for another link type the device offers (LINUX_SLL2 on 'any', whose header names the
    // interface of each packet, so that a filter can leave interfaces out). Refused: the default stays,
    // and JavaScript, seeing it in info.datalink, says why that matters.
    const uint32_t wantLink = GetU32(o, "linkType", 0);
    if (wantLink != 0 && api_->set_datalink != nullptr) api_->set_datalink(p_, static_cast<int>(wantLink));
    datalink_ = api_->datalink(p_);
    snaplen_ = api_->snapshot(p_);
    ifindex_ = if_nametoindex(device_.c_str());
    // The kernel retires the block it is filling after the read timeout; close() waits that long and a little
    // more, unless JavaScript says how long to wait (it caps the wait, so a long timeout cannot hold a stop).
    drainMs_ = GetU32(o, "stopWaitMs", (immediate_ ? 0 : (timeoutMs_ > 0 ? timeoutMs_ : 10)) + 25);

    napi_add_env_cleanup_hook(env, CleanupHook, this);
    hookAdded_ = true;
  }

  ~PcapHandle() override {
    if (hookAdded_) {
      napi_remove_env_cleanup_hook(env_, CleanupHook, this);
      hookAdded_ = false;
    }
    CloseResources();
  }

 private:
  void Check(Napi::Env env, int rc, const char* what) {
    if (rc >= 0) return;
    Fail(env, PcapError(env, rc, std::string(what) + ": " + StatusText(api_, p_, rc)));
  }

  // libpcap leaves the 'any' device out of promiscuous mode without a word. On Linux its descriptor is a
  // packet socket, which can hold a promiscuous membership for each interface (dropped when it closes), as
  // gor, with one handle per interface, has each of them promiscuous.
  void PromiscuousOnEvery(const std::vector<int>& indexes) {
#if defined(__linux__)
    int failed = 0;
    for (const int index : indexes) {
      packet_mreq mr{};
      mr.mr_ifindex = index;
      mr.mr_type = PACKET_MR_PROMISC;
      if (setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0 && errno != ENODEV) failed++;
    }
    if (indexes.empty() || failed > 0) {
      warnings_.push_back("promiscuous mode could not be set on " +
                          (indexes.empty() ? std::string("any interface") : std::to_string(failed) + " interface(s)"));
    }
#else
    (void)indexes;
    warnings_.push_back("promiscuous mode is not available on the any device here");
#endif
  }

  static std::vector<int> GetIndexes(const Napi::Object& o, const char* key) {
    std::vector<int> out;
    Napi::Value v = o.Get(key);
    if (!v.IsArray()) return out;
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value e = a.Get(i);
      if (e.IsNumber() && e.As<Napi::Number>().Int32Value() > 0) out.push_back(e.As<Napi::Number>().Int32Value());
    }
    return out;
  }

  [[noreturn]] void Fail(Napi::Env env, Napi::Error e) {
    if (p_ != nullptr) {
      api_->close(p_);
      p_ = nullptr;
    }
    closed_ = true;
    throw e;
  }

  static void CleanupHook(void* arg) {
    auto* self = static_cast<PcapHandle*>(arg);
    self->hookAdded_ = false;
    self->CloseResources();
  }

  static void OnHandleClosed(uv_handle_t* h) {
    auto* box = static_cast<UvBox*>(h->data);
    if (--box->open > 0) return;
    if (box->hook != nullptr) napi_remove_async_cleanup_hook(box->hook);
    delete box;
  }

  static void OnAsyncCleanup(napi_async_cleanup_hook_handle hook, void* arg) {
    auto* box = static_cast<UvBox*>(arg);
    box->hook = hook;
    if (box->owner != nullptr) box->owner->CloseResources();
  }

  // ---- JavaScript API ----

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) throw Napi::Error::New(env, "the capture handle is closed");
    if (box_ != nullptr) throw Napi::Error::New(env, "already started");
    if (info.Length() < 3 || !info[0].IsFunction() || !info[1].IsFunction() || !info[2].IsFunction()) {
      throw Napi::TypeError::New(env, "start(onBatch, onError, onEnd) expects three functions");
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) throw Napi::Error::New(env, "no event loop");
    auto* box = new UvBox{};
    int rc = uv_poll_init(loop, &box->poll, fd_);
    if (rc != 0) {
      delete box;
      throw Napi::Error::New(env, std::string("uv_poll_init: ") + uv_strerror(rc));
    }
    uv_timer_init(loop, &box->timer);  // cannot fail
    box->open = 2;
    box->owner = this;
    box->poll.data = box;
    box->timer.data = box;
    if (napi_add_async_cleanup_hook(env, OnAsyncCleanup, box, &box->hook) != napi_ok) box->hook = nullptr;
    box_ = box;
    if (!handleRef_) {
      uv_unref(reinterpret_cast<uv_handle_t*>(&box_->poll));
      uv_unref(reinterpret_cast<uv_handle_t*>(&box_->timer));
    }
    onBatch_ = Napi::Persistent(info[0].As<Napi::Function>());
    onError_ = Napi::Persistent(info[1].As<Napi::Function>());
    onEnd_ = Napi::Persistent(info[2].As<Napi::Function>());
    asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "tapline:libpcap");
    Ref();  // alive while the handles exist
    selfRef_ = true;
    StartPolling(env);
    return env.Undefined();
  }

  void StartPolling(Napi::Env env) {
    if (box_ == nullptr || polling_ || failed_ || closed_) return;
    const int rc = uv_poll_start(&box_->poll, UV_READABLE, OnPoll);
    if (rc != 0) throw Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(rc));
    polling_ = true;
  }

  void StopPolling() {
    if (box_ != nullptr && polling_) uv_poll_stop(&box_->poll);
    polling_ = false;
  }

  Napi::Value Pause(const Napi::CallbackInfo& info) {
    StopPolling();
    return info.Env().Undefined();
  }

  Napi::Value Resume(const Napi::CallbackInfo& info) {
    StartPolling(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    handleRef_ = true;
    if (box_ != nullptr && !closed_) {
      uv_ref(reinterpret_cast<uv_handle_t*>(&box_->poll));
      uv_ref(reinterpret_cast<uv_handle_t*>(&box_->timer));
    }
    return info.Env().Undefined();
  }

  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    handleRef_ = false;
    if (box_ != nullptr && !closed_) {
      uv_unref(reinterpret_cast<uv_handle_t*>(&box_->poll));
      uv_unref(reinterpret_cast<uv_handle_t*>(&box_->timer));
    }
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const bool now = info.Length() > 0 && info[0].ToBoolean().Value();
    if (closed_) return Napi::Boolean::New(env, false);
    if (closing_ && !now) return Napi::Boolean::New(env, true);
    if (box_ == nullptr || failed_ || now) {
      CloseResources();
      if (callDepth_ == 0) ReleaseJs();
      return Napi::Boolean::New(env, false);
    }
    closing_ = true;
    uv_timer_start(&box_->timer, OnDrainTimer, drainMs_, 0);
    return Napi::Boolean::New(env, true);
  }

  Napi::Value SetFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_ || p_ == nullptr) throw Napi::Error::New(env, "the capture handle is closed");
    Napi::Value arg = info.Length() > 0 ? info[0] : env.Undefined();
    if (arg.IsBuffer()) {
      Napi::Buffer<uint8_t> b = arg.As<Napi::Buffer<uint8_t>>();
      if (b.Length() == 0 || b.Length() % sizeof(pcapabi::bpf_insn) != 0) {
        throw Napi::RangeError::New(env, "a BPF program is a non-empty sequence of 8-byte instructions");
      }
      std::vector<pcapabi::bpf_insn> insns(b.Length() / sizeof(pcapabi::bpf_insn));
      memcpy(insns.data(), b.Data(), b.Length());
      bpf_program prog{static_cast<unsigned int>(insns.size()), insns.data()};
      if (api_->setfilter(p_, &prog) != 0) {
        throw PcapError(env, pcapabi::kError, std::string("pcap_setfilter: ") + api_->geterr(p_));
      }
      return env.Undefined();
    }
    // An expression ("" or undefined: every packet), compiled for this handle's link type.
    const std::string expr = arg.IsString() ? arg.As<Napi::String>().Utf8Value() : "";
    pcapabi::bpf_u_int32 net = 0, mask = 0;
    char errbuf[pcapabi::kErrbufSize] = {0};
    if (api_->lookupnet(device_.c_str(), &net, &mask, errbuf) != 0) mask = pcapabi::kNetmaskUnknown;
    bpf_program prog{};
    if (api_->compile(p_, &prog, expr.c_str(), 1, mask) != 0) {
      Napi::Error e = PcapError(env, pcapabi::kError, api_->geterr(p_));
      e.Set("code", Napi::String::New(env, "PCAP_COMPILE"));
      throw e;
    }
    const int rc = api_->setfilter(p_, &prog);
    api_->freecode(&prog);
    if (rc != 0) throw PcapError(env, pcapabi::kError, std::string("pcap_setfilter: ") + api_->geterr(p_));
    return env.Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ReadStats();
    Napi::Object s = Napi::Object::New(env);
    s.Set("received", Napi::Number::New(env, static_cast<double>(recv_)));
    s.Set("dropped", Napi::Number::New(env, static_cast<double>(drop_)));
    s.Set("ifDropped", Napi::Number::New(env, static_cast<double>(ifdrop_)));
    s.Set("batches", Napi::Number::New(env, static_cast<double>(batches_)));
    s.Set("delivered", Napi::Number::New(env, static_cast<double>(delivered_)));
    s.Set("deliveredBytes", Napi::Number::New(env, static_cast<double>(deliveredBytes_)));
    s.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated_)));
    s.Set("noMemory", Napi::Number::New(env, static_cast<double>(noMemory_)));
    return s;
  }

  Napi::Value GetInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object r = Napi::Object::New(env);
    r.Set("device", device_);
    r.Set("datalink", Napi::Number::New(env, datalink_));
    r.Set("snaplen", Napi::Number::New(env, snaplen_));
    r.Set("timeoutMs", Napi::Number::New(env, timeoutMs_));
    r.Set("immediate", Napi::Boolean::New(env, immediate_));
    r.Set("stopWaitMs", Napi::Number::New(env, drainMs_));
    r.Set("nanosecond", Napi::Boolean::New(env, nano_));
    r.Set("ifindex", Napi::Number::New(env, ifindex_));
    Napi::Array w = Napi::Array::New(env, warnings_.size());
    for (size_t i = 0; i < warnings_.size(); i++) w.Set(static_cast<uint32_t>(i), warnings_[i]);
    r.Set("warnings", w);
    return r;
  }

  Napi::Value GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), closed_); }

  // ---- capture ----

  // pcap_stat counters are unsigned int and wrap; accumulate their differences in 64 bits.
  void ReadStats() {
    if (p_ == nullptr) return;
    pcapabi::pcap_stat st{};
    if (api_->stats(p_, &st) != 0) return;
    recv_ += static_cast<uint32_t>(st.ps_recv - lastStat_.ps_recv);
    drop_ += static_cast<uint32_t>(st.ps_drop - lastStat_.ps_drop);
    ifdrop_ += static_cast<uint32_t>(st.ps_ifdrop - lastStat_.ps_ifdrop);
    lastStat_ = st;
  }

  // Idempotent; touches no JavaScript value (safe from the cleanup hook and the destructor).
  void CloseResources() {
    if (closed_) return;
    ReadStats();
    closed_ = true;
    if (box_ != nullptr) {
      StopPolling();
      uv_timer_stop(&box_->timer);
      box_->owner = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(&box_->poll), OnHandleClosed);
      uv_close(reinterpret_cast<uv_handle_t*>(&box_->timer), OnHandleClosed);
      box_ = nullptr;
    }
    if (p_ != nullptr) {
      api_->close(p_);
      p_ = nullptr;
    }
    if (batch_ != nullptr) {
      pool_->Put(batch_, batchCap_);
      batch_ = nullptr;
    }
  }

  void ReleaseJs() {
    onBatch_.Reset();
    onError_.Reset();
    onEnd_.Reset();
    asyncContext_.reset();
    if (selfRef_) {
      selfRef_ = false;
      Unref();
    }
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    PcapHandle* self = static_cast<UvBox*>(handle->data)->owner;
    if (self == nullptr || self->closed_) return;
    // Nothing may escape a libuv callback as a C++ exception (see af_packet.cc).
    try {
      self->WithScope([self, status](napi_env env, napi_value me) {
        if (status < 0) {
          // libuv reports the socket's POLLERR as EBADF ('bad file descriptor' when an interface went away).
          // libpcap reads what the ring still holds and says what happened in its words ("The interface
          // went down"); only when it has nothing to say is the socket's own error reported.
          self->Deliver(env, me, true);
          if (!self->failed_ && !self->closed_) self->Failed(env, me, self->PollErrorText(status));
        } else {
          self->Deliver(env, me, false);
        }
      });
    } catch (...) {
    }
  }

  static void OnDrainTimer(uv_timer_t* handle) {
    PcapHandle* self = static_cast<UvBox*>(handle->data)->owner;
    if (self == nullptr || self->closed_) return;
    try {
      self->WithScope([self](napi_env env, napi_value me) {
        self->finishing_ = true;
        self->Deliver(env, me, true);
        self->CloseResources();
        self->CallJs(env, me, self->onEnd_, 0, nullptr);
        self->finishing_ = false;
        if (self->callDepth_ == 0) self->ReleaseJs();
      });
    } catch (...) {
    }
  }

  template <typename F>
  void WithScope(F&& f) {
    napi_env env = env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value me = nullptr;  // a local handle keeps this object alive during the callbacks
    if (napi_get_reference_value(env, static_cast<napi_ref>(*this), &me) == napi_ok && me != nullptr) f(env, me);
    napi_close_handle_scope(env, scope);
  }

  std::string PollErrorText(int status) const {
#if defined(__linux__)
    int err = 0;
    socklen_t len = sizeof err;
    if (fd_ >= 0 && getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
      return std::string("the capture socket failed: ") + strerror(err);
    }
#endif
    return std::string("polling the capture descriptor: ") + uv_strerror(status);
  }

  void Failed(napi_env env, napi_value me, const std::string& message) {
    failed_ = true;
    StopPolling();
    napi_value m, code, e;
    if (napi_create_string_utf8(env, message.c_str(), message.size(), &m) != napi_ok ||
        napi_create_string_utf8(env, "PCAP_ERROR", NAPI_AUTO_LENGTH, &code) != napi_ok ||
        napi_create_error(env, code, m, &e) != napi_ok) {
      return;
    }
    CallJs(env, me, onError_, 1, &e);
  }

  static void OnPacket(unsigned char* user, const pcap_pkthdr* h, const unsigned char* bytes) {
    reinterpret_cast<PcapHandle*>(user)->Append(h, bytes);
  }

  void Append(const pcap_pkthdr* h, const unsigned char* bytes) {
    const uint32_t caplen = h->caplen;
    const size_t need = Align8(kRecordHeaderSize + static_cast<size_t>(caplen));
    if (batch_ == nullptr || batchLen_ + need > batchCap_) {
      if (!Grow(batchLen_ + need)) {
        noMemory_++;
        return;
      }
    }
    uint64_t ts;
    if (wallClock_) {
      timespec now{};
      clock_gettime(CLOCK_REALTIME, &now);
      ts = static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
    } else {
      ts = static_cast<uint64_t>(h->ts.tv_sec) * 1000000000ull +
           static_cast<uint64_t>(h->ts.tv_usec) * (nano_ ? 1ull : 1000ull);
    }
    uint8_t* rec = batch_ + batchLen_;
    PutLe64(rec, ts);
    PutLe32(rec + 8, ifindex_);
    PutLe32(rec + 12, caplen);
    PutLe32(rec + 16, h->len);
    rec[20] = 0;
    rec[21] = caplen < h->len ? kFlagTruncated : 0;
    rec[22] = 0;
    rec[23] = 0;
    memcpy(rec + kRecordHeaderSize, bytes, caplen);
    const size_t used = kRecordHeaderSize + caplen;
    if (need > used) memset(rec + used, 0, need - used);
    batchLen_ += need;
    batchCount_++;
    if (caplen < h->len) truncated_++;
  }

  bool Grow(size_t need) {
    if (batch_ == nullptr) {
      if (need <= ChunkPool::kChunk) {
        batch_ = pool_->Get();
        batchCap_ = ChunkPool::kChunk;
      } else {
        batch_ = static_cast<uint8_t*>(std::malloc(need));
        batchCap_ = need;
      }
      return batch_ != nullptr;
    }
    size_t cap = batchCap_ * 2;
    while (cap < need) cap *= 2;
    auto* bigger = static_cast<uint8_t*>(std::malloc(cap));
    if (bigger == nullptr) return false;
    memcpy(bigger, batch_, batchLen_);
    pool_->Put(batch_, batchCap_);
    batch_ = bigger;
    batchCap_ = cap;
    return true;
  }

  // Reads what libpcap has (every retired block) into one batch and hands it to JavaScript.
  // `final`: the last read before closing, not limited by maxBatchBytes.
  void Deliver(napi_env env, napi_value me, bool final) {
    std::string error;
    for (int rounds = 0; rounds < (final ? 1024 : 1 << 20); rounds++) {
      const int n = api_->dispatch(p_, -1, OnPacket, reinterpret_cast<unsigned char*>(this));
      if (n == 0 || n == pcapabi::kErrorBreak) break;
      if (n < 0) {
        error = StatusText(api_, p_, n);
        break;
      }
      if (!final && batchLen_ >= maxBatchBytes_) break;  // the rest is still ready: the poll fires again
    }
    if (batchCount_ > 0) {
      uint8_t* data = batch_;
      const size_t len = batchLen_;
      const uint32_t count = batchCount_;
      auto* hint = new ChunkHint{pool_, batchCap_};
      batch_ = nullptr;
      batchLen_ = 0;
      batchCount_ = 0;
      napi_value buf;
      if (napi_create_external_buffer(env, len, data, FinalizeChunk, hint, &buf) != napi_ok) {
        pool_->Put(data, hint->cap);  // only while the environment shuts down
        delete hint;
      } else {
        batches_++;
        delivered_ += count;
        deliveredBytes_ += len;
        napi_value args[2] = {buf, nullptr};
        if (napi_create_uint32(env, count, &args[1]) == napi_ok) CallJs(env, me, onBatch_, 2, args);
      }
    }
    if (!error.empty() && !closed_) Failed(env, me, error);
  }

  void CallJs(napi_env env, napi_value me, Napi::FunctionReference& fn, size_t argc, const napi_value* argv) {
    if (fn.IsEmpty() || !asyncContext_) return;
    napi_value f = nullptr;
    if (napi_get_reference_value(env, static_cast<napi_ref>(fn), &f) != napi_ok || f == nullptr) return;
    callDepth_++;
    napi_value result;
    const napi_status st =
        napi_make_callback(env, static_cast<napi_async_context>(*asyncContext_), me, f, argc, argv, &result);
    callDepth_--;
    if (st == napi_pending_exception) {
      napi_value err = nullptr;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok && err != nullptr) napi_fatal_exception(env, err);
    }
    if (closed_ && callDepth_ == 0 && !finishing_) ReleaseJs();  // a close() from inside the callback
  }

  napi_env env_;
  const pcapabi::Api* api_ = nullptr;
  pcap_t* p_ = nullptr;
  std::string device_;
  int fd_ = -1;
  int datalink_ = 0;
  int snaplen_ = 0;
  uint32_t ifindex_ = 0;
  uint32_t timeoutMs_ = 0;
  uint32_t drainMs_ = 0;
  size_t maxBatchBytes_ = 0;
  bool immediate_ = false;
  bool wallClock_ = false;
  bool nano_ = false;
  std::vector<std::string> warnings_;

  UvBox* box_ = nullptr;
  bool polling_ = false;
  bool closing_ = false;    // close() was called: draining until the timer fires
  bool finishing_ = false;  // inside the timer's last read, before onEnd
  bool closed_ = false;
  bool failed_ = false;
  bool selfRef_ = false;
  bool handleRef_ = true;
  bool hookAdded_ = false;
  int callDepth_ = 0;
  Napi::FunctionReference onBatch_;
  Napi::FunctionReference onError_;
  Napi::FunctionReference onEnd_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;

  std::shared_ptr<ChunkPool> pool_ = std::make_shared<ChunkPool>();
  uint8_t* batch_ = nullptr;
  size_t batchCap_ = 0;
  size_t batchLen_ = 0;
  uint32_t batchCount_ = 0;

  pcapabi::pcap_stat lastStat_{};
  uint64_t recv_ = 0;
  uint64_t drop_ = 0;
  uint64_t ifdrop_ = 0;
  uint64_t batches_ = 0;
  uint64_t delivered_ = 0;
  uint64_t deliveredBytes_ = 0;
  uint64_t truncated_ = 0;
  uint64_t noMemory_ = 0;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("load", Napi::Function::New(env, Load, "load"));
  exports.Set("compileBpf", Napi::Function::New(env, CompileBpf, "compileBpf"));
  exports.Set("PcapHandle", PcapHandle::Define(env));
  exports.Set("abiVersion", 1);
  return exports;
}

}  // namespace
}  // namespace tapline

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tapline::Init(env, exports); }

NODE_API_MODULE(tapline_libpcap, InitModule)
