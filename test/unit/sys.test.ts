import { describe, expect, test } from "bun:test";
import {
  SyscallError, errnoName, errnoDescription, Errno, Struct, cString, cStringBytes, tryOpen, open, O,
  makedev, isErrno, statfsType, FS_MAGIC, clockNs, CLOCK, bootTimeWallNs, getRlimit, RLIMIT_NOFILE,
  inotifyInit, inotifyAddWatch, inotifyRead, IN, close, pollIn, read, write, setNonBlocking, parseFanotifyEvents, monotonicUs,
} from "../../lib/sys/index.ts";
import { SYS } from "../../lib/sys/libc.ts";
import { SYSCALLS, syscallTable, type SyscallTable } from "../../lib/sys/syscalls.ts";
import { needs } from "../support/prereq.ts";
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("errno", () => {
  test("names and descriptions", () => {
    expect(errnoName(1)).toBe("EPERM");
    expect(errnoName(2)).toBe("ENOENT");
    expect(errnoName(7)).toBe("E2BIG");
    expect(errnoName(524)).toBe("ENOTSUPP");
    expect(errnoName(9999)).toBe("E9999");
    expect(Errno.EEXIST).toBe(17);
    expect(errnoDescription(13)).toBe("permission denied");
  });

  test("a failing call carries name, number and symbol, read from __errno_location", () => {
    let err: unknown;
    try {
      open("/nonexistent/hookshim", O.RDONLY);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    const e = err as SyscallError;
    expect(e.syscall).toBe("open");
    expect(e.errno).toBe(2);
    expect(e.code).toBe("ENOENT");
    expect(e.message).toBe("open(/nonexistent/hookshim): ENOENT (no such file or directory)");
    expect(isErrno(e, "ENOENT")).toBe(true);
    expect(isErrno(e, "EPERM")).toBe(false);
  });

  test("errno is per call: a later failure reports its own errno", () => {
    expect(tryOpen("/nonexistent", O.RDONLY)).toBe(-2);
    expect(tryOpen("/etc/passwd/x", O.RDONLY)).toBe(-20); // ENOTDIR
    expect(tryOpen("/", O.WRONLY)).toBe(-21); // EISDIR
  });
});

describe("Struct", () => {
  test("little-endian fields, zeroed tail, inline strings", () => {
    const s = new Struct(32).u32(0, 0xdeadbeef).u16(4, 0x1234).u64(8, 0x0102030405060708n).cstr(16, "abcdefghijkl", 8);
    expect(Array.from(s.bytes.subarray(0, 4))).toEqual([0xef, 0xbe, 0xad, 0xde]);
    expect(s.getU16(4)).toBe(0x1234);
    expect(s.getU64(8)).toBe(0x0102030405060708n);
    expect(cString(s.bytes, 16)).toBe("abcdefg"); // truncated to max-1, NUL-terminated
    expect(Array.from(s.bytes.subarray(24))).toEqual(new Array(8).fill(0));
  });

  test("pointer() stores the address and keeps the buffer alive; null stores 0", () => {
    const buf = new Uint8Array(16);
    const s = new Struct(16).pointer(0, buf).pointer(8, null);
    expect(s.getU64(0)).not.toBe(0n);
    expect(s.getU64(8)).toBe(0n);
  });

  test("C strings", () => {
    expect(Array.from(cStringBytes("ab"))).toEqual([97, 98, 0]);
    expect(cString(new Uint8Array([104, 105, 0, 120]))).toBe("hi");
    expect(cString(new Uint8Array([104, 105]))).toBe("hi");
  });

  test("makedev matches glibc's encoding", () => {
    expect(makedev(1, 3)).toBe(0x103n);
    expect(makedev(8, 0)).toBe(0x800n);
    expect(makedev(259, 65536)).toBe(0x10010300n); // ((259 & 0xfff) << 8) | ((65536 & ~0xff) << 12)
  });
});

describe("files and clocks", () => {
  test("read/write/poll on a pipe-like fd", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookshim-sys-"));
    try {
      const p = join(dir, "f");
      writeFileSync(p, "");
      const fd = open(p, O.RDWR);
      expect(write(fd, new TextEncoder().encode("hello"))).toBe(5);
      close(fd);
      expect(readFileSync(p, "utf8")).toBe("hello");
      const rfd = open(p, O.RDONLY);
      const buf = new Uint8Array(16);
      expect(read(rfd, buf)).toBe(5);
      expect(pollIn([rfd], 0)).toEqual([rfd]); // regular files are always readable
      close(rfd);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("inotify sees a file created in a watched directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "hookshim-ino-"));
    const fd = inotifyInit();
    try {
      inotifyAddWatch(fd, dir, IN.CREATE);
      expect(inotifyRead(fd)).toEqual([]); // non-blocking: nothing pending
      writeFileSync(join(dir, "pidfile"), "1");
      const evs = inotifyRead(fd);
      expect(evs.length).toBe(1);
      expect(evs[0]!.name).toBe("pidfile");
      expect(evs[0]!.mask & IN.CREATE).toBe(IN.CREATE);
    } finally {
      close(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("statfs, clocks, rlimits", () => {
    expect(statfsType("/proc")).toBe(FS_MAGIC.PROC);
    const boot = clockNs(CLOCK.BOOTTIME);
    expect(boot).toBeGreaterThan(0n);
    const wall = bootTimeWallNs() + boot;
    expect(Number(wall / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
    const lim = getRlimit(RLIMIT_NOFILE);
    expect(lim.cur).toBeGreaterThan(0n);
    expect(lim.max).toBeGreaterThanOrEqual(lim.cur);
  });

  test("monotonicUs is CLOCK_MONOTONIC in µs, and keeps advancing in a Worker once its loop is compiled", async () => {
    const before = Number(clockNs(CLOCK.MONOTONIC)) / 1000;
    const us = monotonicUs();
    expect(us).toBeGreaterThanOrEqual(before);
    expect(us).toBeLessThanOrEqual(Number(clockNs(CLOCK.MONOTONIC)) / 1000);
    // (addresses kept across FFI calls went stale in a Worker: the clock then stood still)
    const src = `import { monotonicUs } from ${JSON.stringify(join(import.meta.dir, "../../lib/sys/index.ts"))};
      let last = 0, backwards = 0;
      for (let i = 0; i < 200000; i++) { const t = monotonicUs(); if (t < last) backwards++; last = t; }
      const a = monotonicUs(); Bun.sleepSync(20); const b = monotonicUs();
      postMessage({ backwards, advanced: b - a });`;
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: "application/typescript" })));
    const r = await new Promise<{ backwards: number; advanced: number }>((resolve) => (w.onmessage = (e) => resolve(e.data)));
    w.terminate();
    expect(r.backwards).toBe(0);
    expect(r.advanced).toBeGreaterThanOrEqual(15_000);
  });

  test("fanotify event records are parsed by their length", () => {
    // two records, the first with 8 bytes of info after its metadata; room for two events only
    const buf = new Uint8Array(24 + 32 + 24);
    const dv = new DataView(buf.buffer);
    let off = 0;
    for (const [len, fd, pid] of [[32, 7, 100], [24, 8, 200], [24, 9, 300]] as const) {
      dv.setUint32(off, len, true);
      dv.setUint8(off + 4, 3);
      dv.setUint16(off + 6, 24, true);
      dv.setBigUint64(off + 8, 0x40000n, true);
      dv.setInt32(off + 16, fd, true);
      dv.setInt32(off + 20, pid, true);
      off += len;
    }
    const fds = new Int32Array(2), pids = new Int32Array(2);
    expect(parseFanotifyEvents(new Int32Array(buf.buffer), 80, fds, pids)).toBe(2);
    expect([...fds, ...pids]).toEqual([7, 8, 100, 200]);
    expect(parseFanotifyEvents(new Int32Array(buf.buffer), 40, fds, pids)).toBe(1); // a cut record is not parsed
    const zero = new Int32Array(8); // event_len 0 would loop forever
    expect(parseFanotifyEvents(zero, 32, fds, pids)).toBe(0);
  });

  test("setNonBlocking makes an empty read return -EAGAIN", () => {
    const fd = inotifyInit(0);
    try {
      setNonBlocking(fd);
      expect(read(fd, new Uint8Array(64))).toBe(-11);
    } finally {
      close(fd);
    }
  });
});

describe("syscall tables", () => {
  /** `#define __NR_name N` lines of a kernel uapi header. */
  const numbers = (header: string): Map<string, number> =>
    new Map([...readFileSync(header, "utf8").matchAll(/^#define __NR(?:3264)?_(\w+)\s+(\d+)\b/gm)].map((m) => [m[1]!, Number(m[2])]));
  const check = (table: SyscallTable, header: string) => {
    const kernel = numbers(header);
    for (const [name, nr] of Object.entries(table)) expect({ name, nr: kernel.get(name) }).toEqual({ name, nr });
  };
  needs("asm-generic-headers")("arm64's numbers are the kernel's generic table (asm-generic/unistd.h)", () =>
    check(SYSCALLS.arm64, "/usr/include/asm-generic/unistd.h"));
  needs("x86-64-headers")("x86-64's numbers are the kernel's (asm/unistd_64.h)", () => check(SYSCALLS.x64, "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"));
  test("chosen by process.arch; others refused", () => {
    expect(syscallTable("arm64")).toBe(SYSCALLS.arm64);
    expect(syscallTable("x64")).toBe(SYSCALLS.x64);
    expect(() => syscallTable("riscv64")).toThrow("riscv64");
    expect(SYS).toEqual(syscallTable(process.arch));
  });
});

describe("execve", () => {
  test("argv and environment arrive intact (empty, spaces, UTF-8), in order", () => {
    const script = `import { execve } from ${JSON.stringify(join(import.meta.dir, "../../lib/sys/exec.ts"))};
      execve("/bin/sh", ["sh", "-c", 'printf "%s|" "$@"; printf "%s;%s" "$X" "$EMPTY"', "sh", "a b", "", "ü", "--x=1"], { X: "y=z", EMPTY: "" });`;
    const p = Bun.spawnSync([process.execPath, "-e", script]);
    expect(p.stderr.toString()).toBe("");
    expect(p.stdout.toString()).toBe("a b||ü|--x=1|y=z;");
  });
  test("an environment block is passed byte for byte: entries in order, '=' in values, bytes that are not UTF-8", () => {
    // the block is built in the child: "A=1", "B=x=y", "C=" and "D=" followed by the bytes ff fe
    const script = `import { execve } from ${JSON.stringify(join(import.meta.dir, "../../lib/sys/exec.ts"))};
      const block = new Uint8Array([..."A=1\\0B=x=y\\0C=\\0D=".split("").map((c) => c.charCodeAt(0)), 0xff, 0xfe, 0]);
      execve("/usr/bin/env", ["env"], block);`;
    const p = Bun.spawnSync([process.execPath, "-e", script]);
    expect(p.stderr.toString()).toBe("");
    expect([...p.stdout]).toEqual([..."A=1\nB=x=y\nC=\nD=".split("").map((c) => c.charCodeAt(0)), 0xff, 0xfe, 0x0a]);
  });
  test("a block that does not end in NUL is refused", () => {
    const script = `import { execve } from ${JSON.stringify(join(import.meta.dir, "../../lib/sys/exec.ts"))};
      try { execve("/bin/true", ["true"], new Uint8Array([65, 61, 49])); } catch (e) { console.log(e.message); }`;
    expect(Bun.spawnSync([process.execPath, "-e", script]).stdout.toString()).toContain("must end in a NUL byte");
  });
  test("startingEnvironment is the environment the process was started with", () => {
    const script = `import { startingEnvironment } from ${JSON.stringify(join(import.meta.dir, "../../lib/sys/exec.ts"))};
      process.env.ADDED_LATER = "1";
      const b = startingEnvironment();
      process.stdout.write(new TextDecoder().decode(b).split("\\0").filter((e) => e.startsWith("T_")).join(","));`;
    const p = Bun.spawnSync([process.execPath, "-e", script], { env: { PATH: process.env.PATH!, T_ONE: "1", T_TWO: "a=b c" } });
    expect(p.stderr.toString()).toBe("");
    expect(p.stdout.toString()).toBe("T_ONE=1,T_TWO=a=b c");
  });
  test("a NUL inside an argument is refused, not passed on truncated", () => {
    const script = `import { execve } from ${JSON.stringify(join(import.meta.dir, "../../lib/sys/exec.ts"))};
      try { execve("/bin/true", ["true", "a\\0b"], {}); } catch (e) { console.log(e.message); }`;
    expect(Bun.spawnSync([process.execPath, "-e", script]).stdout.toString()).toContain("contains a NUL byte");
  });
});

describe("lib/sys/file.ts and bindLibc", () => {
  test("bindLibc binds several symbols in one dlopen; they are the ones libc's proxy returns", async () => {
    const { bindLibc, libc } = await import("../../lib/sys/libc.ts");
    bindLibc(["getpid", "gettid"]);
    expect(libc.getpid()).toBe(process.pid);
    expect(libc.gettid()).toBeGreaterThan(0);
  });
  test("readFile, readText, mkdir -p, readdir with types, rename, removeTree", async () => {
    const f = await import("../../lib/sys/file.ts");
    const { lstat, stat } = await import("../../lib/sys/stat.ts");
    const dir = mkdtempSync(join(tmpdir(), "hookshim-file-"));
    try {
      f.mkdir(`${dir}/a/b/c`, 0o700, true);
      f.mkdir(`${dir}/a/b/c`, 0o700, true); // an existing directory is fine with recursive
      expect(() => f.mkdir(`${dir}/a`)).toThrow("EEXIST");
      expect(stat(`${dir}/a/b/c`).mode & 0o777).toBe(0o700);
      const big = "x".repeat(100_000);
      writeFileSync(`${dir}/a/big`, big);
      expect(f.readText(`${dir}/a/big`)).toBe(big);
      expect(() => f.readFile(`${dir}/a/big`, 1000)).toThrow("EFBIG");
      expect(f.readText("/proc/self/cmdline").split("\0")[0]).toBe(readFileSync("/proc/self/cmdline", "utf8").split("\0")[0]!);
      expect(lstat(`${dir}/a/big`).size).toBe(100_000);
      const names = f.readdir(`${dir}/a`).map((d) => [d.name, d.isDirectory()]).sort();
      expect(names).toEqual([["b", true], ["big", false]]);
      f.rename(`${dir}/a/big`, `${dir}/a/moved`);
      expect(() => f.readText(`${dir}/a/big`)).toThrow("ENOENT");
      f.removeTree(`${dir}/a`);
      f.removeTree(`${dir}/a`); // nothing there is not an error
      expect(f.readdir(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
