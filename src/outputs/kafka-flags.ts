/**
 * The `--output-kafka-host` plugin as the command line sees it: its flags and help. Cheap to import (the CLI reads
 * every plugin's declaration at start-up); kafka.ts, the implementation, is loaded only when the flag is used
 * (src/plugins.ts).
 */
import type { OutputPluginDecl } from '../core/registry.js';
import { commonKafkaFlags, KAFKA_SECTION, KAFKA_TLS_FLAGS } from '../kafka/flags.js';

export const kafkaOutputDecl: OutputPluginDecl = {
  role: 'output',
  flag: 'output-kafka-host',
  summary: 'Write messages to a Kafka topic (raw or gor JSON)',
  flags: {
    ...commonKafkaFlags('output-kafka', 'write'),
    'output-kafka-key': {
      kind: 'string',
      default: 'id',
      value: 'id|none',
      section: KAFKA_SECTION,
      help: 'Message key: the message id (a request and its responses share a partition) or none (gor). tapline only.',
    },
    'output-kafka-batch-size': {
      kind: 'int',
      default: '2000',
      section: KAFKA_SECTION,
      help: 'Messages per produce request (a batch also goes when it reaches 2 MiB). tapline only.',
    },
    'output-kafka-linger': {
      kind: 'duration',
      min: '0',
      default: '10ms',
      section: KAFKA_SECTION,
      help: 'How long a partial batch waits for more messages. tapline only (gor flushes every 500ms).',
    },
    'output-kafka-max-in-flight': {
      kind: 'int',
      default: '8',
      section: KAFKA_SECTION,
      help: 'Produce requests awaiting acknowledgement before the pipeline waits. tapline only.',
    },
    'output-kafka-compression': {
      kind: 'string',
      default: 'none',
      value: 'none|gzip',
      section: KAFKA_SECTION,
      help: 'Batch compression (gor uses snappy; readers decode either). tapline only.',
    },
    'output-kafka-acks': {
      kind: 'int',
      default: '1',
      section: KAFKA_SECTION,
      help: 'Acknowledgement: 1 the partition leader (gor), -1 all in-sync replicas (and, with librdkafka, an idempotent producer: a batch sent again is not written twice), 0 none. tapline only.',
    },
    ...KAFKA_TLS_FLAGS,
  },
};
