/**
 * The Output behind `--output-tcp` and `--output-ws`: N links (persistent connections, spec §9.1), a message
 * goes to one of them — round-robin with the first message on link 1 as gor does, or by FNV-1a-32 of its id
 * with `-sticky`. Only requests and original responses (types 1 and 2) are forwarded; replayed responses
 * (type 3) are skipped and counted, as gor ignores them.
 *
 *   write(msg) ─encode─▶ link[i] (queue ─▶ socket) ─▶ peer        i = rr or fnv1a32(id) % N
 *                      └ queue stats sample (`--output-tcp-stats`)
 */
import type { Logger } from '../core/log.js';
import { type Message, REPLAYED_RESPONSE } from '../core/message.js';
import type { Output } from '../core/plugin.js';
import { QueueStats } from '../outputs/http-queue-stats.js';
import { fnv1a32 } from './fnv.js';
import { type Dialer, ForwardLink, type LinkCounters, SiblingNotices, zeroLinkCounters } from './forward-link.js';

export interface ForwarderOptions {
  /** `output-tcp(host:port)`. */
  name: string;
  workers: number;
  sticky: boolean;
  /** Messages each link buffers (while the peer is away, or slow). */
  queueLimit: number;
  /** One message's bytes on the wire. */
  encode(msg: Message): Buffer;
  dial: Dialer;
  log: Logger;
  /** gor's queue statistics: `[DEBUG]… output_tcp:latest,mean,max,…` every periodMs. */
  queueStats?: { name: string; periodMs: number };
  /** How long drain/close wait for queued messages to reach the peer. */
  flushTimeoutMs: number;
}

export function forwarder(options: ForwarderOptions): Output {
  const count = Math.max(1, options.workers);
  const siblings = new SiblingNotices(count);
  const links = Array.from(
    { length: count },
    (_, i) =>
      new ForwardLink(
        count > 1 ? `${options.name}#${i}` : options.name,
        options.dial,
        options.queueLimit,
        options.log,
        siblings,
      ),
  );
  for (const link of links) link.start();
  const counters = { messages: 0, bytes: 0, skipped_replayed: 0 };
  let next = 0;

  let queueStats: QueueStats | undefined;
  let statsTimer: NodeJS.Timeout | undefined;
  if (options.queueStats) {
    const stats = new QueueStats(options.queueStats.name, options.queueStats.periodMs);
    queueStats = stats;
    const line = () => stats.line(links.filter((l) => l.connected).length);
    options.log.write(stats.header());
    options.log.write(line());
    statsTimer = setInterval(() => options.log.write(line()), options.queueStats.periodMs);
    statsTimer.unref();
  }

  const flushAll = () => Promise.all(links.map((l) => l.flush(options.flushTimeoutMs)));

  return {
    name: options.name,
    write(msg) {
      if (msg.meta.type === REPLAYED_RESPONSE) {
        counters.skipped_replayed++;
        return;
      }
      const frame = options.encode(msg);
      counters.messages++;
      counters.bytes += frame.length;
      let link: ForwardLink;
      if (options.sticky) link = links[fnv1a32(msg.meta.id) % links.length]!;
      else {
        next = (next + 1) % links.length; // gor: the first message goes to worker 1
        link = links[next]!;
      }
      const full = link.enqueue(frame);
      queueStats?.sample(link.queued);
      return full;
    },
    async drain() {
      await flushAll();
    },
    stopping() {
      for (const link of links) link.release();
    },
    async close() {
      await flushAll();
      const unsent = await Promise.all(links.map((l) => l.close(options.flushTimeoutMs)));
      if (statsTimer) clearInterval(statsTimer);
      sayUnsent(options, unsent);
    },
    stats() {
      const sum = zeroLinkCounters();
      let queued = 0;
      let connected = 0;
      for (const l of links) {
        for (const k of Object.keys(sum) as (keyof LinkCounters)[]) sum[k] += l.counters[k];
        queued += l.queued;
        if (l.connected) connected++;
      }
      return { ...counters, ...sum, queued, connected, workers: links.length };
    },
  };
}

/**
 * What the links could not send at close, one line per reason: with 10 links to a target that is down, the
 * same reason came 10 times, once per link.
 */
function sayUnsent(options: ForwarderOptions, unsent: ({ lost: number; why: string } | undefined)[]): void {
  const byReason = new Map<string, { lost: number; links: number[] }>();
  unsent.forEach((u, i) => {
    if (!u) return;
    const entry = byReason.get(u.why) ?? { lost: 0, links: [] };
    entry.lost += u.lost;
    entry.links.push(i);
    byReason.set(u.why, entry);
  });
  for (const [why, { lost, links }] of byReason) {
    const where =
      unsent.length === 1
        ? ''
        : links.length === 1
          ? `#${links[0]}`
          : ` (on ${links.length} of its ${unsent.length} connections)`;
    options.log.warn(`${options.name}${where}: ${lost} message(s) never sent: ${why}`);
  }
}
