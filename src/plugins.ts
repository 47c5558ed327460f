/**
 * The built-in plugins, in gor's registration order (spec §0): dummy input, stdout, null, raw, tcp, file,
 * http, binary, kafka. Within a kind, instances keep the order their flags were given in.
 */
import type { PluginDef } from './core/registry.js';
import { dummyInputPlugin } from './inputs/dummy.js';
import { fileInputPlugin } from './inputs/file.js';
import { kafkaInputPlugin } from './inputs/kafka.js';
import { rawInputPlugin } from './inputs/raw/index.js';
import { tcpInputPlugin } from './inputs/tcp.js';
import { binaryOutputPlugin } from './outputs/binary.js';
import { elasticsearchOutputPlugin } from './outputs/elasticsearch.js';
import { fileOutputPlugin } from './outputs/file.js';
import { httpOutputPlugin } from './outputs/http.js';
import { kafkaOutputPlugin } from './outputs/kafka.js';
import { nullOutputPlugin } from './outputs/null.js';
import { stdoutOutputPlugin } from './outputs/stdout.js';
import { tcpOutputPlugin } from './outputs/tcp.js';
import { wsOutputPlugin } from './outputs/ws.js';

export const builtinPlugins: readonly PluginDef[] = [
  dummyInputPlugin,
  stdoutOutputPlugin,
  nullOutputPlugin,
  rawInputPlugin,
  tcpInputPlugin,
  tcpOutputPlugin,
  wsOutputPlugin,
  fileInputPlugin,
  fileOutputPlugin,
  httpOutputPlugin,
  elasticsearchOutputPlugin,
  binaryOutputPlugin,
  kafkaOutputPlugin,
  kafkaInputPlugin,
];
