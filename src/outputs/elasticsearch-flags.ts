/**
 * The `--output-http-elasticsearch` plugin as the command line sees it: its flags and help. Cheap to import (the CLI reads
 * every plugin's declaration at start-up); elasticsearch.ts, the implementation, is loaded only when the flag is used
 * (src/plugins.ts).
 */
import type { OutputPluginDecl } from '../core/registry.js';

const SECTION = 'Replay (--output-http)';

export const FLAG = 'output-http-elasticsearch';

export const elasticsearchOutputDecl: OutputPluginDecl = {
  role: 'output',
  flag: FLAG,
  summary: 'Index each replayed exchange in Elasticsearch',
  flags: {
    [FLAG]: {
      kind: 'string',
      section: SECTION,
      value: 'URL',
      help: 'Index one document per replayed request/response (gor fields, sizes, route) at scheme://host[:port]/[path/]index, with the _bulk API. Needs --output-http-track-response when replaying.',
      gorNote: "gor's help shows localhost:9200/gor, which gor itself rejects: the scheme is required",
    },
    [`${FLAG}-bulk-size`]: {
      kind: 'int',
      default: '500',
      section: SECTION,
      help: 'Documents per _bulk request (a request also goes at 5 MiB). tapline only.',
    },
    [`${FLAG}-flush-interval`]: {
      kind: 'duration',
      default: '1s',
      section: SECTION,
      help: 'How long a partial _bulk request waits for more documents. tapline only.',
    },
    [`${FLAG}-retry-for`]: {
      kind: 'duration',
      min: '0',
      default: '60s',
      section: SECTION,
      help: 'How long documents are retried after 429, 5xx or a lost connection before they count as failed (gor: 60s).',
    },
  },
};
