// lib/bpf against the real kernel: maps, programs, pins, cgroup attachment, links, bpffs.
import { afterAll, describe, expect } from "bun:test";
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BpfMap, BpfProgram, BpfLink, MapType, ProgType, AttachType, AttachFlag, UpdateFlag, VerifierError,
  u32, u64, ensureBpffs, isBpffs, progAttach, progDetach, progQuery, rawTracepointOpen, programIds, TypedMap,
  fixedString, objGet,
} from "../../lib/bpf/index.ts";
import * as asm from "../../lib/bpf/asm/index.ts";
import { SyscallError, isErrno, open, close, O, umount } from "../../lib/sys/index.ts";
import { needs } from "../support/prereq.ts";
import { cgroupMount } from "../../lib/cgroup/index.ts";

const root = needs("root");
const BUN = process.execPath;

function tempBpffs(): string {
  const dir = mkdtempSync(join(tmpdir(), "hookshim-bpffs-"));
  ensureBpffs(dir);
  return dir;
}
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) {
    try {
      umount(m);
      rmdirSync(m);
    } catch {}
  }
});

const cgroup2Root = () => cgroupMount().mountpoint;

describe("maps", () => {
  root("hash map: update flags, lookup, delete, iteration, batch", () => {
    const m = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64, name: "t_hash" });
    try {
      for (let i = 0; i < 10; i++) m.update(u32.encode(i), u64.encode(BigInt(i * 100)), UpdateFlag.NOEXIST);
      expect(u64.decode(m.lookup(u32.encode(7))!)).toBe(700n);
      expect(m.lookup(u32.encode(70))).toBeUndefined();
      // NOEXIST on a present key and EXIST on an absent one fail with the kernel's errno names
      expect(() => m.update(u32.encode(1), u64.encode(1n), UpdateFlag.NOEXIST)).toThrow(/EEXIST/);
      expect(() => m.update(u32.encode(99), u64.encode(1n), UpdateFlag.EXIST)).toThrow(/ENOENT/);
      expect(m.tryUpdate(u32.encode(1), u64.encode(1n), UpdateFlag.NOEXIST)).toBe(-17);
      m.update(u32.encode(1), u64.encode(111n), UpdateFlag.EXIST);
      expect(u64.decode(m.lookup(u32.encode(1))!)).toBe(111n);
      expect(m.delete(u32.encode(2))).toBe(true);
      expect(m.delete(u32.encode(2))).toBe(false);
      const keys = [...m.keys()].map((k) => u32.decode(k)).sort((a, b) => a - b);
      expect(keys).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 9]);
      const batch = m.lookupBatch(4)!;
      expect(batch).toBeDefined();
      expect(new Map(batch.map(([k, v]) => [u32.decode(k), u64.decode(v)]))).toEqual(
        new Map([...m.entries()].map(([k, v]) => [u32.decode(k), u64.decode(v)])),
      );
      const info = m.info();
      expect(info).toMatchObject({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64, name: "t_hash" });
      expect(() => m.lookup(new Uint8Array(3))).toThrow(/key is 3 bytes/);
    } finally {
      m.close();
    }
  });

  root("full hash map reports E2BIG; array, LRU, per-CPU and ring buffer maps", () => {
    const h = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 2 });
    h.update(u32.encode(1), u32.encode(1));
    h.update(u32.encode(2), u32.encode(2));
    expect(h.tryUpdate(u32.encode(3), u32.encode(3))).toBe(-7);
    h.close();

    const a = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
    expect(u32.decode(a.lookup(u32.encode(3))!)).toBe(0);
    expect(a.lookup(u32.encode(4))).toBeUndefined();
    expect(() => a.delete(u32.encode(0))).toThrow(SyscallError);
    a.close();

    const lru = BpfMap.create({ type: MapType.LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
    for (let i = 0; i < 100; i++) lru.update(u32.encode(i), u32.encode(i));
    const n = [...lru.keys()].length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(100);
    expect(u32.decode(lru.lookup(u32.encode(99))!)).toBe(99); // the newest survives eviction
    lru.close();

    const pc = BpfMap.create({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(pc.valueBufferSize % 8).toBe(0);
    expect(pc.lookup(u32.encode(0))!.byteLength).toBe(pc.valueBufferSize);
    pc.close();

    const rb = BpfMap.create({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    expect(rb.info().type).toBe(MapType.RINGBUF);
    rb.close();
  });

  root("typed map over codecs", () => {
    const m = BpfMap.create({ type: MapType.HASH, keySize: 16, valueSize: 8, maxEntries: 4 });
    try {
      const t = new TypedMap(m, fixedString(16), u64);
      t.set("web", 42n);
      expect(t.get("web")).toBe(42n);
      expect([...t.keys()]).toEqual(["web"]);
      expect(() => t.set("a-name-longer-than-16", 1n)).toThrow(/longer than 16 bytes/);
    } finally {
      m.close();
    }
  });

  root("a pinned map is reopened by another process and survives its creator", async () => {
    const fs = tempBpffs();
    mounts.push(fs);
    const pin = join(fs, "shared");
    const writer = `
      import { BpfMap, MapType, u32 } from ${JSON.stringify(join(import.meta.dir, "../../lib/bpf/index.ts"))};
      const m = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8, name: "shared" });
      m.update(u32.encode(5), u32.encode(55));
      m.pin(${JSON.stringify(pin)});`;
    const p = Bun.spawnSync([BUN, "-e", writer]);
    expect(p.exitCode).toBe(0);
    const m = BpfMap.fromPin(pin);
    expect(m.name).toBe("shared");
    expect(u32.decode(m.lookup(u32.encode(5))!)).toBe(55);
    m.close();
    rmSync(pin);
    expect(() => objGet(pin)).toThrow(/ENOENT/);
  });
});

describe("programs", () => {
  // r0 = (len(skb) & 0xff) * 2 + 1: exercises ALU, a load from the context and a labelled jump.
  const socketProgram = () => [
    asm.LoadMem(asm.R2, asm.R1, 0, asm.Word), // skb->len
    asm.Mov64Imm(asm.R0, 0),
    asm.JumpImm(asm.JumpOp.JEq, asm.R2, 0, "out"),
    asm.Mov64Reg(asm.R0, asm.R2),
    asm.ALU64Imm(asm.ALUOp.And, asm.R0, 0xff),
    asm.ALU64Imm(asm.ALUOp.Mul, asm.R0, 2),
    asm.ALU64Imm(asm.ALUOp.Add, asm.R0, 1),
    asm.Exit().withSymbol("out"),
  ];

  root("load, info, xlated instructions, test run", () => {
    const insns = asm.assemble(socketProgram());
    const p = BpfProgram.load({ type: ProgType.SOCKET_FILTER, instructions: insns, name: "t_sock" });
    try {
      const info = p.info();
      expect(info.name).toBe("t_sock");
      expect(info.type).toBe(ProgType.SOCKET_FILTER);
      expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
      expect(info.xlatedLen).toBe(p.xlated().byteLength);
      expect(info.xlatedLen).toBeGreaterThan(0);
      expect([...programIds()]).toContain(info.id);
      // skb->len excludes the 14-byte Ethernet header test_run pulls: 64-byte frame -> (50 & 0xff) * 2 + 1
      expect(p.testRun({ data: new Uint8Array(64) }).retval).toBe(101);
      expect(p.testRun({ data: new Uint8Array(20), repeat: 10 }).retval).toBe(13);
      const again = BpfProgram.fromId(info.id);
      expect(again.info().tag).toBe(info.tag);
      again.close();
    } finally {
      p.close();
    }
  });

  root("a map referenced by name is resolved at assemble time and used by the program", () => {
    const m = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: "t_counter" });
    const prog = [
      asm.StoreImm(asm.RFP, -4, 0, asm.Word),
      asm.LoadMapRef(asm.R1, "counter"),
      asm.Mov64Reg(asm.R2, asm.RFP),
      asm.ALU64Imm(asm.ALUOp.Add, asm.R2, -4),
      asm.Call(asm.Helper.MapLookupElem),
      asm.JumpImm(asm.JumpOp.JEq, asm.R0, 0, "done"),
      asm.Mov64Imm(asm.R1, 1),
      asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord), // plain store: single-threaded test run
      asm.Mov64Imm(asm.R0, 0).withSymbol("done"),
      asm.Exit(),
    ];
    expect(() => asm.assemble(prog)).toThrow(/counter/);
    const p = BpfProgram.load({
      type: ProgType.SOCKET_FILTER,
      instructions: asm.assemble(prog, { maps: { counter: m.fd } }),
      name: "t_mapref",
    });
    try {
      p.testRun({ data: new Uint8Array(32) });
      expect(u64.decode(m.lookup(u32.encode(0))!)).toBe(1n);
      expect(p.info().mapIds).toEqual([m.info().id]);
    } finally {
      p.close();
      m.close();
    }
  });

  root("a rejected program gives a VerifierError naming the failing instruction, full log kept", () => {
    // reads r3, which was never written
    const bad = [asm.Mov64Reg(asm.R0, asm.R3), asm.Exit()];
    let err: unknown;
    try {
      BpfProgram.load({ type: ProgType.SOCKET_FILTER, instructions: asm.assemble(bad), name: "t_bad" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.message).toContain("load program t_bad: EACCES");
    expect(v.message).toContain("R3 !read_ok");
    expect(v.message).toMatch(/0: \(bf\) r0 = r3/);
    expect(v.log).toContain("processed");
    // one convention for syscall failures: the verifier's refusal is a SyscallError with its errno
    expect(v).toBeInstanceOf(SyscallError);
    expect(isErrno(v, "EACCES")).toBe(true);
    expect(v.code).toBe("EACCES");
  });

  root("the log buffer grows until the whole verifier log fits", () => {
    // A long straight-line program with log level 2 produces a log far beyond the first 64 KiB buffer.
    const body = Array.from({ length: 3000 }, (_, i) => asm.Mov64Imm(asm.R0, i));
    const p = BpfProgram.load({
      type: ProgType.SOCKET_FILTER,
      instructions: asm.assemble([...body, asm.Exit()]),
      name: "t_biglog",
      logLevel: 2,
    });
    expect(p.info().verifiedInsns).toBe(3001);
    p.close();
  });

  root("a pinned program is found from the pin; errno names on failure", () => {
    const fs = tempBpffs();
    mounts.push(fs);
    const p = BpfProgram.load({ type: ProgType.SOCKET_FILTER, instructions: asm.assemble(socketProgram()), name: "t_pin" });
    p.pin(join(fs, "prog"));
    const q = BpfProgram.fromPin(join(fs, "prog"));
    expect(q.info().id).toBe(p.info().id);
    expect(() => p.pin(join(fs, "prog"))).toThrow(/BPF_OBJ_PIN.*EEXIST/);
    expect(() => BpfProgram.fromPin(join(fs, "missing"))).toThrow(/BPF_OBJ_GET.*ENOENT/);
    q.close();
    p.close();
    rmSync(join(fs, "prog"));
  });
});

describe("attachment", () => {
  const devProgram = (allow: number) =>
    asm.assemble([asm.Mov32Imm(asm.R0, allow), asm.Exit()]);

  root("cgroup attach with ALLOW_MULTI, query, REPLACE, detach", () => {
    const dir = join(cgroup2Root(), `hookshim-test-bpf-${process.pid}`);
    mkdirSync(dir);
    const cg = open(dir, O.RDONLY | O.DIRECTORY);
    const a = BpfProgram.load({ type: ProgType.CGROUP_DEVICE, instructions: devProgram(1), name: "t_dev_a" });
    const b = BpfProgram.load({ type: ProgType.CGROUP_DEVICE, instructions: devProgram(1), name: "t_dev_b" });
    try {
      expect(progQuery(cg, AttachType.CGROUP_DEVICE).progIds).toEqual([]);
      progAttach({ targetFd: cg, progFd: a.fd, attachType: AttachType.CGROUP_DEVICE, flags: AttachFlag.ALLOW_MULTI });
      const q = progQuery(cg, AttachType.CGROUP_DEVICE);
      expect(q.progIds).toEqual([a.info().id]);
      expect(q.attachFlags).toBe(AttachFlag.ALLOW_MULTI);
      progAttach({
        targetFd: cg,
        progFd: b.fd,
        attachType: AttachType.CGROUP_DEVICE,
        flags: AttachFlag.ALLOW_MULTI | AttachFlag.REPLACE,
        replaceFd: a.fd,
      });
      expect(progQuery(cg, AttachType.CGROUP_DEVICE).progIds).toEqual([b.info().id]);
      expect(() => progDetach({ targetFd: cg, progFd: a.fd, attachType: AttachType.CGROUP_DEVICE })).toThrow(/ENOENT/);
      progDetach({ targetFd: cg, progFd: b.fd, attachType: AttachType.CGROUP_DEVICE });
      expect(progQuery(cg, AttachType.CGROUP_DEVICE).progIds).toEqual([]);
    } finally {
      a.close();
      b.close();
      close(cg);
      rmdirSync(dir);
    }
  });

  root("raw tracepoint link: open, pin, info, survives the loader through its pin", () => {
    const fs = tempBpffs();
    mounts.push(fs);
    const p = BpfProgram.load({
      type: ProgType.RAW_TRACEPOINT,
      instructions: asm.assemble([asm.Mov64Imm(asm.R0, 0), asm.Exit()]),
      name: "t_rawtp",
    });
    const link = rawTracepointOpen("sched_process_exit", p.fd);
    const progId = p.info().id;
    link.pin(join(fs, "link"));
    const info = link.info();
    expect(info.progId).toBe(progId);
    expect(info.tpName).toBe("sched_process_exit");
    link.close();
    p.close();
    // Only the pin holds it now.
    const again = BpfLink.fromPin(join(fs, "link"));
    expect(again.info().progId).toBe(progId);
    expect([...programIds()]).toContain(progId);
    again.close();
    rmSync(join(fs, "link"));
    expect(() => rawTracepointOpen("no_such_tracepoint_hookshim", 0)).toThrow(SyscallError);
  });
});

describe("bpffs", () => {
  root("ensureBpffs mounts into a temporary directory once, and it unmounts", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookshim-bpffs-"));
    try {
      expect(isBpffs(dir)).toBe(false);
      expect(ensureBpffs(dir)).toBe(true);
      expect(isBpffs(dir)).toBe(true);
      expect(ensureBpffs(dir)).toBe(false);
      umount(dir);
      expect(isBpffs(dir)).toBe(false);
    } finally {
      rmdirSync(dir);
    }
    expect(existsSync(dir)).toBe(false);
  });
});
