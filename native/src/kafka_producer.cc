// tapline Kafka producer addon (tapline_kafka.node): a librdkafka producer behind src/kafka/rdkafka-producer.ts.
// kafkajs spends 30-40 CPU µs per 1 KB keyed message encoding records in JavaScript; librdkafka does the
// same work in C for about 2 µs. JavaScript hands a whole batch over in one call and hears back once per
// batch, when every message of it has its delivery report.
//
//   new Producer(config, onEvent)      config: [name, value] pairs for rd_kafka_conf_set (throws on a bad
//                                      one, naming it); starts the poll thread. onEvent(kind, id, n, text):
//                                        kind 1 BATCH   batch `id` settled; n = messages not delivered,
//                                                       text = the first failure's reason ('' if none)
//                                        kind 2 LOG     n = syslog level (0-7), text = librdkafka's line
//                                        kind 3 CLOSED  close() finished (flushed or timed out, destroyed);
//                                                       n = messages still queued then (purged: failed)
//                                        kind 4 ERROR   librdkafka's error callback (a broker unreachable,
//                                                       all brokers down...): n = its error code
//   send(topic, bytes, spans, count, id)  a batch of `count` records in one buffer (src/kafka/record-
//                                      batch.ts): spans[4i..4i+3] = value offset, length, key offset (-1:
//                                      none), length. Every record is copied into librdkafka
//                                      (RD_KAFKA_MSG_F_COPY) in this one call and placed by its
//                                      partitioner; BATCH follows once for `id`
//   close(timeoutMs)                   the poll thread flushes (waiting up to timeoutMs for outstanding
//                                      delivery reports), destroys the handle, then CLOSED
//
// Threads:
//
//   main thread ──send: rd_kafka_produce_batch──▶ librdkafka queues ──▶ broker threads (librdkafka's own)
//        ▲                                                                   │ delivery reports
//        └──── ThreadSafeFunction (one call per batch, per log line) ◀── poll thread: rd_kafka_poll loop,
//                                                                       dr_msg_cb counts a batch down
//
// A batch's count starts at its size + 1: the extra one is the main thread's, dropped when it has queued
// every record, so a delivery report racing the rest of send() cannot settle the batch early. Whoever brings
// the count to zero (a report on the poll thread, or send() itself when nothing could be queued) reports it.
// The TSFN is referenced (keeps the process alive) only while batches are outstanding or close() runs.
//
// Needs Debian's librdkafka-dev to build (-lrdkafka); binding.gyp skips this target without its header.

#include <napi.h>

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tapline {
namespace {

enum EventKind { kBatch = 1, kLog = 2, kClosed = 3, kError = 4 };

struct Batch {
  uint32_t id;
  std::atomic<int64_t> remaining;
  std::mutex mutex;  // guards failed and reason (reports on the poll thread, queue failures on main)
  int64_t failed = 0;
  std::string reason;

  Batch(uint32_t id_, int64_t count) : id(id_), remaining(count + 1) {}
  void Fail(int64_t n, const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex);
    if (failed == 0) reason = why;
    failed += n;
  }
};

class Producer;
struct Event;
void CallJs(Napi::Env env, Napi::Function fn, Producer* producer, Event* e);
using Tsfn = Napi::TypedThreadSafeFunction<Producer, Event, CallJs>;

// What crosses from any thread to JavaScript through the TSFN.
struct Event {
  EventKind kind;
  uint32_t id = 0;
  int64_t n = 0;
  std::string text;
  Batch* batch = nullptr;  // kBatch: owned by the event, deleted once reported
};

std::string Reason(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2str(err)) + " (" + rd_kafka_err2name(err) + ")";
}

class Producer : public Napi::ObjectWrap<Producer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Producer",
                       {InstanceMethod<&Producer::Send>("send"), InstanceMethod<&Producer::Close>("close")});
  }

  explicit Producer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Producer>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "Producer(config: [name, value][], onEvent: function)").ThrowAsJavaScriptException();
      return;
    }
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    Napi::Array pairs = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < pairs.Length(); i++) {
      Napi::Value item = pairs.Get(i);
      if (!item.IsArray() || item.As<Napi::Array>().Length() != 2) {
        rd_kafka_conf_destroy(conf);
        Napi::TypeError::New(env, "config entries are [name, value] pairs").ThrowAsJavaScriptException();
        return;
      }
      std::string name = item.As<Napi::Array>().Get(0u).ToString();
      std::string value = item.As<Napi::Array>().Get(1u).ToString();
      if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        Napi::Error::New(env, "librdkafka " + name + ": " + errstr).ThrowAsJavaScriptException();
        return;
      }
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
    rd_kafka_conf_set_error_cb(conf, OnError);
    rd_kafka_conf_set_log_cb(conf, OnLog);

    // Before rd_kafka_new: it logs (through OnLog) while it starts.
    tsfn_ = Tsfn::New(env, info[1].As<Napi::Function>(), "tapline_kafka", 0, 1, this);
    tsfn_.Unref(env);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);  // owns conf on success
    if (!rk_) {
      rd_kafka_conf_destroy(conf);
      silent_.store(true);  // log lines already queued are dropped with the producer
      tsfn_.Release();
      Napi::Error::New(env, std::string("librdkafka: ") + errstr).ThrowAsJavaScriptException();
      return;
    }
    poller_ = std::thread([this] { Poll(); });
  }

  // Only reached with no batch outstanding and close() never called, or after CLOSED was handled (both
  // hold a reference to this object): stop at once and say nothing (nobody listens any more).
  ~Producer() override {
    if (poller_.joinable() && closing_.load()) {
      poller_.detach();  // close() ran but its CLOSED was never handled (the environment went away first)
    } else if (poller_.joinable()) {
      flush_ms_ = 0;
      silent_.store(true);
      closing_.store(true);
      poller_.join();
    }
  }

  // The TSFN's callback (main thread).
  void Handle(Napi::Env env, Napi::Function fn, Event* e) {
    if (e->kind == kBatch && --outstanding_ == 0) {
      if (!closing_.load()) tsfn_.Unref(env);
      Unref();  // this object may be collected again
    }
    fn.Call({Napi::Number::New(env, e->kind), Napi::Number::New(env, e->id),
             Napi::Number::New(env, static_cast<double>(e->n)), Napi::String::New(env, e->text)});
    if (e->kind == kClosed) {
      // The poll thread has nothing left to do but release the TSFN: wait for it here, so that the process
      // cannot exit (and tear the TSFN down) between CLOSED and that release. A detached thread releasing a
      // freed TSFN aborted the process at exit (uv_mutex_lock) when a run ended right after close().
      if (poller_.joinable()) poller_.join();
      Unref();  // close()'s reference
    }
  }

 private:
  // Runs on the poll thread and librdkafka's threads (log lines): hands an event to the main thread.
  void Emit(Event* e) {
    if (silent_.load() || tsfn_.NonBlockingCall(e) != napi_ok) {
      delete e->batch;
      delete e;
    }
  }

  void Settle(Batch* b) {
    Event* e = new Event{kBatch, b->id, 0, "", b};
    {
      std::lock_guard<std::mutex> lock(b->mutex);
      e->n = b->failed;
      e->text = b->reason;
    }
    Emit(e);
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    Producer* self = static_cast<Producer*>(opaque);
    Batch* b = static_cast<Batch*>(m->_private);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) b->Fail(1, Reason(m->err));
    if (b->remaining.fetch_sub(1) == 1) self->Settle(b);
  }

  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    Producer* self = static_cast<Producer*>(opaque);
    std::string text = std::string(reason) + " (" + rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)) + ")";
    self->Emit(new Event{kError, 0, err, text, nullptr});
  }

  static void OnLog(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    Producer* self = static_cast<Producer*>(rd_kafka_opaque(rk));
    if (self == nullptr) return;
    self->Emit(new Event{kLog, 0, level, std::string(fac) + ": " + buf, nullptr});
  }

  void Poll() {
    while (!closing_.load()) rd_kafka_poll(rk_, 100);
    // Delivery reports of a flush are served here too (rd_kafka_flush polls this thread's way).
    rd_kafka_flush(rk_, flush_ms_);
    int left = rd_kafka_outq_len(rk_);
    if (left > 0) {
      // Still undelivered after the flush timeout: purged, so their batches are reported as failures
      // (rd_kafka_destroy alone would drop them without a delivery report).
      rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(rk_, 0);
    }
    for (auto& t : topics_) rd_kafka_topic_destroy(t.second);
    topics_.clear();
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
    // Once CLOSED is queued, the main thread may handle it and let this object be collected: nothing of
    // `this` is touched after the call (the TSFN handle is copied first).
    Tsfn tsfn = tsfn_;
    bool silent = silent_.load();
    Event* e = new Event{kClosed, 0, left, "", nullptr};
    if (silent || tsfn.NonBlockingCall(e) != napi_ok) delete e;
    tsfn.Release();
  }

  rd_kafka_topic_t* Topic(const std::string& name) {
    auto it = topics_.find(name);
    if (it != topics_.end()) return it->second;
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
    if (t) topics_.emplace(name, t);
    return t;
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsString() || !info[3].IsNumber() || !info[4].IsNumber()) {
      Napi::TypeError::New(env, "send(topic: string, bytes: Buffer, spans: Int32Array, count: number, id: number)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (closing_.load() || rk_ == nullptr) {
      Napi::Error::New(env, "the Kafka producer is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    rd_kafka_topic_t* topic = Topic(info[0].As<Napi::String>());
    if (!topic) {
      Napi::Error::New(env, "cannot open topic: " + Reason(rd_kafka_last_error())).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    size_t length = 0, spanCount = 0;
    void* data = nullptr;
    void* spanData = nullptr;
    napi_typedarray_type type;
    napi_value spansValue = info[2];
    if (napi_get_buffer_info(env, info[1], &data, &length) != napi_ok ||
        napi_get_typedarray_info(env, spansValue, &type, &spanCount, &spanData, nullptr, nullptr) != napi_ok ||
        type != napi_int32_array) {
      Napi::TypeError::New(env, "send: bytes must be a Buffer and spans an Int32Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const char* bytes = static_cast<const char*>(data);
    const int32_t* spans = static_cast<const int32_t*>(spanData);
    uint32_t count = info[3].As<Napi::Number>().Uint32Value();
    uint32_t id = info[4].As<Napi::Number>().Uint32Value();
    if (static_cast<size_t>(count) * 4 > spanCount) {
      Napi::RangeError::New(env, "send: fewer spans than records").ThrowAsJavaScriptException();
      return env.Undefined();
    }

    // Every span is checked before anything is queued, so a bad one throws with nothing sent.
    auto inside = [length](int64_t at, int64_t n) { return at >= 0 && n >= 0 && at + n <= static_cast<int64_t>(length); };
    messages_.assign(count, rd_kafka_message_t{});
    for (uint32_t i = 0; i < count; i++) {
      const int32_t* s = spans + 4 * i;
      if (!inside(s[0], s[1]) || (s[2] >= 0 && !inside(s[2], s[3]))) {
        Napi::RangeError::New(env, "record " + std::to_string(i) + ": outside the batch's bytes")
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
      rd_kafka_message_t& m = messages_[i];
      m.payload = const_cast<char*>(bytes + s[0]);
      m.len = static_cast<size_t>(s[1]);
      if (s[2] >= 0) {
        m.key = const_cast<char*>(bytes + s[2]);
        m.key_len = static_cast<size_t>(s[3]);
      }
    }
    Batch* batch = new Batch(id, count);
    for (uint32_t i = 0; i < count; i++) messages_[i]._private = batch;
    // One call for the batch; the partitioner (murmur2_random: Java's placement) runs per message.
    int queued = count == 0 ? 0
                            : rd_kafka_produce_batch(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                                     messages_.data(), static_cast<int>(count));
    int64_t notQueued = static_cast<int64_t>(count) - queued;
    if (notQueued > 0) {
      std::string why;
      for (uint32_t i = 0; i < count && why.empty(); i++) {
        if (messages_[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) why = Reason(messages_[i].err);
      }
      batch->Fail(notQueued, why.empty() ? "not queued" : why);
    }
    if (outstanding_++ == 0) {
      tsfn_.Ref(env);  // the process stays up for the reports
      Ref();           // and this object with it
    }
    // The main thread's own count, and one per message that will never get a delivery report.
    if (batch->remaining.fetch_sub(notQueued + 1) == notQueued + 1) Settle(batch);
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closing_.load() || !poller_.joinable()) return env.Undefined();
    flush_ms_ = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 10000;
    tsfn_.Ref(env);
    Ref();  // until CLOSED has been handled
    closing_.store(true);
    // The thread flushes, destroys the handle, queues CLOSED and ends; Handle() joins it on CLOSED.
    return env.Undefined();
  }

  rd_kafka_t* rk_ = nullptr;
  Tsfn tsfn_;
  std::thread poller_;
  std::atomic<bool> closing_{false};
  int flush_ms_ = 10000;
  std::atomic<bool> silent_{false};
  int64_t outstanding_ = 0;  // main thread only
  std::unordered_map<std::string, rd_kafka_topic_t*> topics_;  // main thread, then the poll thread at close
  std::vector<rd_kafka_message_t> messages_;                   // send()'s scratch array
};

void CallJs(Napi::Env env, Napi::Function fn, Producer* producer, Event* e) {
  if (env == nullptr || fn == nullptr) {
    // The environment is going away: nothing to call.
  } else if (e->kind == kLog || e->kind == kError) {
    // Log lines and errors touch no member: one may still be queued when a collected producer was destroyed.
    fn.Call({Napi::Number::New(env, e->kind), Napi::Number::New(env, 0), Napi::Number::New(env, static_cast<double>(e->n)),
             Napi::String::New(env, e->text)});
  } else {
    producer->Handle(env, fn, e);
  }
  delete e->batch;
  delete e;
}

}  // namespace

Napi::Object InitKafka(Napi::Env env, Napi::Object exports) {
  exports.Set("Producer", Producer::Define(env));
  exports.Set("version", Napi::String::New(env, rd_kafka_version_str()));
  exports.Set("abiVersion", Napi::Number::New(env, 2));
  return exports;
}

}  // namespace tapline

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return tapline::InitKafka(env, exports);
}

NODE_API_MODULE(tapline_kafka, Init)
