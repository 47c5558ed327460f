/**
 * The `--input-kafka-host` plugin as the command line sees it: its flags and help. Cheap to import (the CLI reads
 * every plugin's declaration at start-up); kafka.ts, the implementation, is loaded only when the flag is used
 * (src/plugins.ts).
 */
import type { InputPluginDecl } from '../core/registry.js';
import { commonKafkaFlags, KAFKA_SECTION, KAFKA_TLS_FLAGS } from '../kafka/flags.js';

export const kafkaInputDecl: InputPluginDecl = {
  role: 'input',
  flag: 'input-kafka-host',
  summary: 'Read messages from a Kafka topic (raw or gor JSON)',
  // A `|N%` on the host is refused (kafka.ts): on input-kafka a percent is a speed, given on the offset.
  ownsLimit: true,
  flags: {
    ...commonKafkaFlags('input-kafka', 'read'),
    'input-kafka-offset': {
      kind: 'string',
      default: '-1',
      value: 'N[|speed%]',
      section: KAFKA_SECTION,
      help: 'Where to start in every partition: -1 newest (no pacing), -2 oldest, or an offset; other than -1, messages are paced by their timestamps, e.g. "-2|200%".',
    },
    'input-kafka-group': {
      kind: 'string',
      value: 'NAME',
      section: KAFKA_SECTION,
      help: 'Join this consumer group: processes in one group split the partitions and each message goes to one of them; offsets are committed. tapline only (gor reads every partition).',
    },
    ...KAFKA_TLS_FLAGS,
  },
};
