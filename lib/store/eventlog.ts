// The event log: a hash map keyed by u64 sequence number plus two counters in the meta map, head (the
// next sequence to write) and tail (the lowest one still kept).
//
// Writers append under the store lock: insert at head with NOEXIST, then raise head, evicting from
// the tail first when the log is at capacity (tail is raised before its slot is deleted). Sequences
// are therefore dense from tail to head-1 at every instant a reader can look, so a reader that
// follows seq+1, seq+2, ... until a slot is absent neither skips nor repeats an event; one that fell
// below the tail jumps to it and is told how many it lost. A writer killed between its insert and
// the head update leaves a complete event at head; the next writer finds it (EEXIST) and moves past.
import type { BpfMap } from "../bpf/index.ts";
import { UpdateFlag } from "../bpf/index.ts";
import { Errno } from "../sys/index.ts";
import type { DirLock } from "./lock.ts";
import { decodeEvent, encodeEvent } from "./layout.ts";
import { eventLine, type LifecycleEvent } from "./event.ts";
import { StoreFullError } from "./errors.ts";

export const META = { version: 0, eventHead: 1, eventTail: 2, nextTraceId: 3 } as const;
export const META_SLOTS = 8;
const FIRST_SEQ = 1n;

export interface StoredEvent {
  seq: bigint;
  event: LifecycleEvent;
}

export interface AppendResult {
  seq: bigint;
  /** what had to go to make room, for the writer to log */
  warnings: string[];
}

export interface ReadResult {
  events: StoredEvent[];
  /** sequence of the last event returned (or `after` when none) */
  last: bigint;
  /** events evicted before this reader got to them */
  lost: bigint;
}

/** The meta array map (u32 slot -> u64) as counters. */
export class Meta {
  private readonly key = new Uint8Array(4);
  private readonly keyView = new DataView(this.key.buffer);
  private readonly value = new Uint8Array(8);
  private readonly valueView = new DataView(this.value.buffer);

  constructor(readonly map: BpfMap) {}

  get(slot: number): bigint {
    this.keyView.setUint32(0, slot, true);
    this.map.lookup(this.key, this.value);
    return this.valueView.getBigUint64(0, true);
  }

  set(slot: number, v: bigint): void {
    this.keyView.setUint32(0, slot, true);
    this.valueView.setBigUint64(0, v, true);
    this.map.update(this.key, this.value);
  }
}

export class EventLog {
  private readonly key = new Uint8Array(8);
  private readonly keyView = new DataView(this.key.buffer);
  private readonly record: Uint8Array;

  constructor(
    private readonly store: string,
    private readonly events: BpfMap,
    private readonly meta: Meta,
    private readonly lock: DirLock,
  ) {
    this.record = new Uint8Array(events.valueSize);
  }

  get capacity(): number {
    return this.events.maxEntries;
  }

  private seqKey(seq: bigint): Uint8Array {
    this.keyView.setBigUint64(0, seq, true);
    return this.key;
  }

  append(ev: LifecycleEvent): AppendResult {
    const value = encodeEvent(ev, new Uint8Array(this.events.valueSize));
    return this.lock.hold(() => {
      const warnings: string[] = [];
      let tail = this.meta.get(META.eventTail);
      let seq = this.meta.get(META.eventHead);
      if (tail < FIRST_SEQ) tail = FIRST_SEQ;
      if (seq < tail) seq = tail;
      for (;;) {
        if (seq - tail >= BigInt(this.capacity)) {
          warnings.push(this.evict(tail));
          tail++;
          continue;
        }
        const r = this.events.tryUpdate(this.seqKey(seq), value, UpdateFlag.NOEXIST);
        if (r === 0) break;
        if (r === -Errno.EEXIST) {
          seq++; // left by a writer that died before raising head
          continue;
        }
        if (r === -Errno.E2BIG) {
          if (tail >= seq) throw new StoreFullError(this.store, `event log cannot take an event`);
          warnings.push(this.evict(tail));
          tail++;
          continue;
        }
        this.events.update(this.seqKey(seq), value, UpdateFlag.NOEXIST); // throws the SyscallError
      }
      this.meta.set(META.eventHead, seq + 1n);
      return { seq, warnings };
    });
  }

  /** Drops the event at `tail` (called with the lock held); says what went. */
  private evict(tail: bigint): string {
    this.meta.set(META.eventTail, tail + 1n);
    const old = this.events.lookupAndDelete(this.seqKey(tail), this.record);
    const what = old ? eventLine(decodeEvent(old)) : "(already gone)";
    return `store ${this.store}: event log full (${this.capacity} events), dropped event ${tail}: ${what}`;
  }

  /** Events after sequence `after` (0n: from the oldest kept), at most `limit`. */
  read(after = 0n, limit = Infinity): ReadResult {
    const events: StoredEvent[] = [];
    let lost = 0n;
    let seq = after + 1n;
    const tail = this.meta.get(META.eventTail);
    if (seq < tail) {
      if (after > 0n) lost = tail - seq;
      seq = tail;
    }
    if (seq < FIRST_SEQ) seq = FIRST_SEQ;
    while (events.length < limit) {
      const v = this.events.lookup(this.seqKey(seq), this.record);
      if (!v) break;
      events.push({ seq, event: decodeEvent(v) });
      seq++;
    }
    return { events, last: seq - 1n > after ? seq - 1n : after, lost };
  }

  /** Sequence numbers currently kept: [tail, head). */
  bounds(): { tail: bigint; head: bigint } {
    const head = this.meta.get(META.eventHead);
    const tail = this.meta.get(META.eventTail);
    return { tail: tail < FIRST_SEQ ? FIRST_SEQ : tail, head: head < FIRST_SEQ ? FIRST_SEQ : head };
  }

  /** Drops events older than `cutoffNs` (wall clock) from the tail; returns how many. */
  dropOlderThan(cutoffNs: bigint): number {
    return this.lock.hold(() => {
      let { tail, head } = this.bounds();
      let dropped = 0;
      while (tail < head) {
        const v = this.events.lookup(this.seqKey(tail), this.record);
        if (v && decodeEvent(v).timeNs >= cutoffNs) break;
        this.meta.set(META.eventTail, tail + 1n);
        if (v) this.events.delete(this.seqKey(tail));
        tail++;
        dropped++;
      }
      return dropped;
    });
  }
}
