# Build file for tapline's capture addon (Linux AF_PACKET / TPACKET_V3).
#
# Needs only the C++ compiler node-gyp uses and the kernel UAPI headers that come with it
# (linux-libc-dev, a dependency of libc6-dev / g++): no libpcap, no other -dev package.
# Build: node scripts/build-native.mjs   (or: node-gyp rebuild --nodedir=<node prefix>, run in native/)
{
  'targets': [
    {
      'target_name': 'tapline_capture',
      'conditions': [
        ['OS=="linux"', {
          'sources': ['src/af_packet.cc'],
        }],
      ],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': ['NAPI_VERSION=8'],
      'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    },
    # The libpcap engine: libpcap is opened with dlopen at run time, so building needs no libpcap
    # (neither the library nor its headers); only -ldl. A separate module (tapline_libpcap.node) so
    # that it has its own module initializer.
    {
      'target_name': 'tapline_libpcap',
      'conditions': [
        ['OS!="win"', {
          'sources': ['src/libpcap.cc'],
          'libraries': ['-ldl'],
        }],
      ],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': ['NAPI_VERSION=8'],
      'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    },
    # --input-file: memory-mapped windows of plain .gor files (src/inputs/file-map.ts) and the record
    # scanner of the .gor reader (src/core/gor-format-native.ts).
    {
      'target_name': 'tapline_file',
      'conditions': [
        ['OS=="linux"', {
          'sources': ['src/file_map.cc', 'src/file_scan.cc', 'src/file_copy.cc'],
        }],
      ],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': ['NAPI_VERSION=8'],
      'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    },
    # Analytics: the accounting core of --stats and `tapline report` (src/analytics/native-tracker.ts).
    # Compiler only; portable C++.
    {
      'target_name': 'tapline_stats',
      'sources': ['src/stats_core.cc'],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': ['NAPI_VERSION=8'],
      'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    },
    # --input-raw's native flow fast path (src/inputs/raw/native-flows.ts): decode, flow table and HTTP/1
    # cutting of the common case, one call per packet batch. Compiler only; portable C++.
    {
      'target_name': 'tapline_flow',
      'sources': ['src/flow_core.cc'],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': ['NAPI_VERSION=8'],
      'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    },
    # --output-http's native sender for plain http:// targets (src/outputs/http-native.ts): keep-alive
    # connections on a thread of its own (epoll). Compiler only.
    {
      'target_name': 'tapline_http',
      'conditions': [
        ['OS=="linux"', {
          'sources': ['src/http_sender.cc'],
        }],
      ],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': ['NAPI_VERSION=8'],
      'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    },
    # The second Ctrl-C: leave at once even when a thread-pool write is blocked (src/cli/exit-at-once.ts).
    # Compiler only; without it process.exit() is used, which waits for such a write.
    {
      'target_name': 'tapline_process',
      'sources': ['src/process_exit.cc'],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': ['NAPI_VERSION=8'],
      'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    },
    # --output-tcp / --output-ws: what the peer's TCP acknowledged (TCP_INFO) when a connection ends
    # (src/net/tcp-ack.ts). Compiler only; without it forwarding counts what the kernel took, as before.
    {
      'target_name': 'tapline_net',
      'conditions': [
        ['OS=="linux"', {
          'sources': ['src/tcp_ack.cc'],
        }],
      ],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': ['NAPI_VERSION=8'],
      'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    },
  ],
  # The Kafka producer on librdkafka (src/kafka/rdkafka-producer.ts): built only where librdkafka's header is
  # installed (Debian: librdkafka-dev); without it tapline produces with kafkajs.
  'variables': {
    'tapline_has_rdkafka': '<!(test -f /usr/include/librdkafka/rdkafka.h && echo 1 || echo 0)',
  },
  'conditions': [
    ['OS=="linux" and tapline_has_rdkafka==1', {
      'targets': [
        {
          'target_name': 'tapline_kafka',
          'sources': ['src/kafka_producer.cc'],
          'libraries': ['-lrdkafka'],
          'dependencies': [
            "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
          ],
          'defines': ['NAPI_VERSION=8'],
          'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
        },
      ],
    }],
  ],
}
