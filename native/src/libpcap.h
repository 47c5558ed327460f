// tapline libpcap engine: libpcap loaded at run time (dlopen), packets delivered to JavaScript in
// batches.
//
// No libpcap header is needed to build it: the few types, constants and prototypes used are declared
// below, as libpcap's public ABI defines them (pcap/pcap.h, pcap/bpf.h; stable since libpcap 1.0).
// At run time the library is opened by name (libpcap.so.1, libpcap.so.0.8, libpcap.so, or a path
// from JavaScript) and every function is resolved with dlsym. When it cannot be opened, loading
// reports why, and nothing else in the engine can be used: no crash, no missing-symbol abort.
//
//   kernel ─▶ libpcap (TPACKET_V3 ring on Linux, blocks retired after the read timeout)
//          ─▶ uv_poll on pcap_get_selectable_fd() (non-blocking handle)
//          ─▶ one wake-up: pcap_dispatch(-1) until it returns 0, every packet appended as a record
//             to ONE Buffer
//          ─▶ ONE JavaScript callback per wake-up: onBatch(buffer, count)
//
// Batch records use the af_packet engine's layout (af_packet.h), so the same decoder reads both:
//   0 tsNs u64 | 8 ifindex u32 (the device's index, 0 for 'any' or unknown) | 12 caplen u32 |
//   16 origlen u32 | 20 pkttype u8 (always 0: libpcap does not say) | 21 flags u8 (only
//   kFlagTruncated) | 22 hatype u16 (always 0) | 24 caplen bytes | padding to a multiple of 8.
#pragma once

#include <sys/time.h>

#include <cstdint>

namespace tapline {
namespace pcapabi {

using bpf_u_int32 = uint32_t;
struct pcap;  // opaque
using pcap_t = pcap;

constexpr int kErrbufSize = 256;  // PCAP_ERRBUF_SIZE
constexpr bpf_u_int32 kNetmaskUnknown = 0xffffffff;  // PCAP_NETMASK_UNKNOWN

// Status codes (pcap/pcap.h).
constexpr int kError = -1;                      // PCAP_ERROR
constexpr int kErrorBreak = -2;                 // PCAP_ERROR_BREAK
constexpr int kErrorNoSuchDevice = -5;          // PCAP_ERROR_NO_SUCH_DEVICE
constexpr int kErrorRfmonNotSup = -6;           // PCAP_ERROR_RFMON_NOTSUP
constexpr int kErrorPermDenied = -8;            // PCAP_ERROR_PERM_DENIED
constexpr int kErrorIfaceNotUp = -9;            // PCAP_ERROR_IFACE_NOT_UP
constexpr int kErrorCantSetTstampType = -10;    // PCAP_ERROR_CANTSET_TSTAMP_TYPE
constexpr int kErrorPromiscPermDenied = -11;    // PCAP_ERROR_PROMISC_PERM_DENIED
constexpr int kErrorTstampPrecisionNotSup = -12;  // PCAP_ERROR_TSTAMP_PRECISION_NOTSUP

constexpr int kTstampPrecisionMicro = 0;  // PCAP_TSTAMP_PRECISION_MICRO
constexpr int kTstampPrecisionNano = 1;   // PCAP_TSTAMP_PRECISION_NANO

// struct pcap_pkthdr. With nanosecond precision, ts.tv_usec holds nanoseconds.
struct pcap_pkthdr {
  struct timeval ts;
  bpf_u_int32 caplen;
  bpf_u_int32 len;
};

// struct bpf_insn: the same 8 bytes as Linux's struct sock_filter.
struct bpf_insn {
  uint16_t code;
  uint8_t jt;
  uint8_t jf;
  bpf_u_int32 k;
};
static_assert(sizeof(bpf_insn) == 8, "struct bpf_insn is 8 bytes");

struct bpf_program {
  unsigned int bf_len;
  bpf_insn* bf_insns;
};

// struct pcap_stat (the three fields every platform but Windows has).
struct pcap_stat {
  unsigned int ps_recv;
  unsigned int ps_drop;
  unsigned int ps_ifdrop;
};

using pcap_handler = void (*)(unsigned char* user, const pcap_pkthdr* h, const unsigned char* bytes);

// The functions used, resolved by dlsym. Optional ones (newer than libpcap 1.0) may be null.
struct Api {
  // required
  pcap_t* (*create)(const char* device, char* errbuf);
  int (*set_snaplen)(pcap_t*, int);
  int (*set_promisc)(pcap_t*, int);
  int (*set_timeout)(pcap_t*, int);
  int (*set_buffer_size)(pcap_t*, int);
  int (*can_set_rfmon)(pcap_t*);
  int (*set_rfmon)(pcap_t*, int);
  int (*activate)(pcap_t*);
  void (*close)(pcap_t*);
  int (*dispatch)(pcap_t*, int cnt, pcap_handler cb, unsigned char* user);
  int (*setfilter)(pcap_t*, bpf_program*);
  int (*compile)(pcap_t*, bpf_program*, const char* expr, int optimize, bpf_u_int32 netmask);
  void (*freecode)(bpf_program*);
  char* (*geterr)(pcap_t*);
  const char* (*statustostr)(int);
  int (*datalink)(pcap_t*);
  int (*snapshot)(pcap_t*);
  int (*stats)(pcap_t*, pcap_stat*);
  int (*setnonblock)(pcap_t*, int, char* errbuf);
  int (*get_selectable_fd)(pcap_t*);
  pcap_t* (*open_dead)(int linktype, int snaplen);
  int (*lookupnet)(const char* device, bpf_u_int32* net, bpf_u_int32* mask, char* errbuf);
  const char* (*lib_version)();
  // optional
  int (*set_immediate_mode)(pcap_t*, int);          // 1.5
  int (*set_tstamp_type)(pcap_t*, int);             // 1.2
  int (*tstamp_type_name_to_val)(const char* name);  // 1.2
  int (*set_tstamp_precision)(pcap_t*, int);        // 1.5
  int (*get_tstamp_precision)(pcap_t*);             // 1.5
  int (*set_datalink)(pcap_t*, int);                // 0.8 (LINUX_SLL2 on 'any': 1.10)
};

}  // namespace pcapabi
}  // namespace tapline
