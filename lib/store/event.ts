// The lifecycle event as ARCHITECTURE.md defines it, and its two renderings: one JSON object per line
// for machines (eventToJSON), one readable line for people (eventLine).
import { clockNs, CLOCK } from "../sys/index.ts";

export const EVENT_TYPES = ["created", "started", "stopped", "add", "remove", "precreate", "error"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

// "store": written by reconciliation (lib/store/reconcile.ts) for a container found gone, not seen to stop
export const EVENT_SOURCES = ["hook", "notifier", "shim", "store"] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

export interface LifecycleEvent {
  /** wall-clock nanoseconds since the epoch */
  timeNs: bigint;
  type: EventType;
  id: string;
  name: string;
  /** 0 when unknown */
  pid: number;
  bundle: string;
  runtime: string;
  cgroup: string;
  exitCode: number | null;
  signal: number | null;
  source: EventSource;
}

/** An event with the fields a writer does not know left empty. */
export function makeEvent(
  fields: Pick<LifecycleEvent, "type" | "id" | "source"> & Partial<LifecycleEvent>,
): LifecycleEvent {
  return {
    timeNs: fields.timeNs ?? wallClockNs(),
    type: fields.type,
    id: fields.id,
    name: fields.name ?? "",
    pid: fields.pid ?? 0,
    bundle: fields.bundle ?? "",
    runtime: fields.runtime ?? "",
    cgroup: fields.cgroup ?? "",
    exitCode: fields.exitCode ?? null,
    signal: fields.signal ?? null,
    source: fields.source,
  };
}

/** Date.now() has millisecond resolution; events want nanoseconds. */
export function wallClockNs(): bigint {
  return clockNs(CLOCK.REALTIME);
}

/** RFC 3339 in UTC with all nine fractional digits: 2026-11-21T23:05:01.123456789Z. */
export function formatTime(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  const iso = new Date(Number(sec) * 1000).toISOString(); // ...:01.000Z
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, "0")}Z`;
}

/** Exactly the ARCHITECTURE.md event object, keys in its order, as one line of JSON. */
export function eventToJSON(ev: LifecycleEvent): string {
  return JSON.stringify({
    time: formatTime(ev.timeNs),
    type: ev.type,
    id: ev.id,
    name: ev.name,
    pid: ev.pid,
    bundle: ev.bundle,
    runtime: ev.runtime,
    cgroup: ev.cgroup,
    exitCode: ev.exitCode,
    signal: ev.signal,
    source: ev.source,
  });
}

/** For people: time, type, id, then only the fields that say something. */
export function eventLine(ev: LifecycleEvent): string {
  const parts = [formatTime(ev.timeNs), ev.type.padEnd(9), ev.id];
  if (ev.name && ev.name !== ev.id) parts.push(`name=${ev.name}`);
  if (ev.pid) parts.push(`pid=${ev.pid}`);
  if (ev.runtime) parts.push(`runtime=${ev.runtime}`);
  if (ev.exitCode !== null) parts.push(`exit=${ev.exitCode}`);
  if (ev.signal !== null) parts.push(`signal=${ev.signal}`);
  if (ev.cgroup) parts.push(`cgroup=${ev.cgroup}`);
  if (ev.bundle) parts.push(`bundle=${ev.bundle}`);
  parts.push(`source=${ev.source}`);
  return parts.join(" ");
}
