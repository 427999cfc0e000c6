/**
 * The folio layout of a mapping, read from /proc/PID/pagemap (VA -> PFN) and /proc/kpageflags
 * (compound head/tail per PFN; folio size found by walking the tails in PFN space), with PMD
 * mapping from the PAGEMAP_SCAN ioctl (PAGE_IS_HUGE, via the runner binary) or, without it,
 * from smaps AnonHugePages. PFNs and kpageflags need root (CAP_SYS_ADMIN).
 *
 * It is a snapshot taken page by page while the process may run; for a runner proc it is exact,
 * because the proc is paused between ops.
 */

import { execFileSync } from "node:child_process";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { ensureRunner } from "./compile.js";

const PAGE = 4096;
const PFN_MASK = (1n << 55n) - 1n;

/** /proc/kpageflags bit numbers (include/uapi/linux/kernel-page-flags.h). */
export const KPF = {
  locked: 0,
  referenced: 2,
  uptodate: 3,
  dirty: 4,
  lru: 5,
  active: 6,
  writeback: 8,
  reclaim: 9,
  mmap: 11,
  anon: 12,
  swapcache: 13,
  swapbacked: 14,
  compound_head: 15,
  compound_tail: 16,
  huge: 17,
  unevictable: 18,
  ksm: 21,
  thp: 22,
  zero_page: 24,
  idle: 25,
  mlocked: 33,
} as const;

const FLAG_NAMES: Array<[string, number]> = [
  ["anon", KPF.anon],
  ["thp", KPF.thp],
  ["lru", KPF.lru],
  ["active", KPF.active],
  ["dirty", KPF.dirty],
  ["swapbacked", KPF.swapbacked],
  ["swapcache", KPF.swapcache],
  ["mlocked", KPF.mlocked],
  ["unevictable", KPF.unevictable],
  ["ksm", KPF.ksm],
  ["zero", KPF.zero_page],
  ["hugetlb", KPF.huge],
];

export interface FolioInfo {
  /** Virtual address of the folio's head page (where it is, or would be, mapped: the folio's VA start). */
  address: number;
  /** PFN of the folio's head page. */
  pfn: number;
  order: number;
  /** Folio size in bytes (4096 << order). */
  size: number;
  /** Pages of this folio mapped in the range (less than 1 << order: partially mapped here). */
  mappedPages: number;
  /** PMD-mapped (true), PTE-mapped (false), unknown (null: no PAGEMAP_SCAN). */
  pmd: boolean | null;
  flags: string[];
}

export interface FolioRun {
  start: number;
  end: number;
  count: number;
  size: number;
  order: number;
  mappedPages: number;
  pmd: boolean | null;
  flags: string[];
}

export interface FolioLayout {
  pid: number;
  start: number;
  end: number;
  pages: number;
  /** Pages present in memory / in swap / neither. */
  present: number;
  swapped: number;
  absent: number;
  folios: FolioInfo[];
  /** Consecutive folios of the same size, mapping and flags, like `foliomap` prints them. */
  runs: FolioRun[];
  /** Folio count per size name ("4K", "64K", "2M"). */
  histogram: Record<string, number>;
  /**
   * The page-cache part of the census: file and shmem folios (not KPF_ANON) per size name, as
   * mapped in the range, so a shmem or file mapping's page-cache folio sizes read directly.
   */
  pageCache: Record<string, number>;
  /** Folios of which only part is mapped in the range. */
  partiallyMapped: number;
  /** Bytes PMD-mapped in the range. */
  pmdMappedBytes: number;
  pmdSource: "pagemap_scan" | "smaps" | "none";
  /** Why the layout is incomplete, when it is. */
  limits: string[];
}

export function sizeName(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes / (1 << 20)}M` : `${bytes / 1024}K`;
}

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n <= 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** PMD-mapped ranges [start, end) from PAGEMAP_SCAN (PAGE_IS_HUGE), or null when unavailable. */
export function pmdMappedRanges(pid: number, start: number, end: number): Array<[number, number]> | null {
  let bin: string;
  try {
    bin = ensureRunner().path;
  } catch {
    return null;
  }
  try {
    const out = execFileSync(bin, ["scan", String(pid), start.toString(16), end.toString(16)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const ranges: Array<[number, number]> = [];
    for (const line of out.split("\n")) {
      const m = /^H 0x([0-9a-f]+) 0x([0-9a-f]+)$/.exec(line);
      if (m) ranges.push([Number.parseInt(m[1]!, 16), Number.parseInt(m[2]!, 16)]);
    }
    return ranges;
  } catch {
    return null;
  }
}

/** AnonHugePages (bytes) of the VMAs overlapping [start, end), from /proc/PID/smaps. */
export function smapsAnonHuge(pid: number, start: number, end: number): number {
  let total = 0;
  let inRange = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (head) {
      const a = Number.parseInt(head[1]!, 16);
      const b = Number.parseInt(head[2]!, 16);
      inRange = a < end && b > start;
      continue;
    }
    const m = /^AnonHugePages:\s+(\d+) kB/.exec(line);
    if (m && inRange) total += Number(m[1]) * 1024;
  }
  return total;
}

/**
 * Folio layout of [start, end) in process `pid`: every folio with its size, head PFN, how much of
 * it is mapped there, whether it is PMD-mapped, and its page flags.
 */
export function folioLayout(pid: number, start: number, end: number): FolioLayout {
  start = Math.floor(start / PAGE) * PAGE;
  end = Math.ceil(end / PAGE) * PAGE;
  const pages = (end - start) / PAGE;
  const layout: FolioLayout = {
    pid,
    start,
    end,
    pages,
    present: 0,
    swapped: 0,
    absent: 0,
    folios: [],
    runs: [],
    histogram: {},
    pageCache: {},
    partiallyMapped: 0,
    pmdMappedBytes: 0,
    pmdSource: "none",
    limits: [],
  };
  const pfns = new Array<number>(pages).fill(-1);
  const pm = openSync(`/proc/${pid}/pagemap`, "r");
  try {
    const CHUNK = 65536;
    for (let i = 0; i < pages; i += CHUNK) {
      const n = Math.min(CHUNK, pages - i);
      const buf = readAt(pm, n * 8, ((start / PAGE + i) * 8) as number);
      for (let j = 0; j < n; j++) {
        const e = j * 8 + 8 <= buf.length ? buf.readBigUInt64LE(j * 8) : 0n;
        if (e >> 63n) {
          layout.present++;
          pfns[i + j] = Number(e & PFN_MASK);
        } else if ((e >> 62n) & 1n) layout.swapped++;
        else layout.absent++;
      }
    }
  } finally {
    closeSync(pm);
  }
  if (layout.present > 0 && pfns.every((p) => p <= 0)) {
    layout.limits.push("PFNs are hidden in /proc/PID/pagemap (needs CAP_SYS_ADMIN): folio sizes unknown");
    return layout;
  }

  let kpf: number;
  try {
    kpf = openSync("/proc/kpageflags", "r");
  } catch (e) {
    layout.limits.push(`cannot read /proc/kpageflags (${(e as Error).message}; needs root): folio sizes unknown`);
    return layout;
  }
  const blocks = new Map<number, BigUint64Array>();
  const block = (b: number): BigUint64Array => {
    let f = blocks.get(b);
    if (!f) {
      const buf = readAt(kpf, 512 * 8, b * 512 * 8);
      f = new BigUint64Array(512);
      for (let i = 0; i * 8 + 8 <= buf.length; i++) f[i] = buf.readBigUInt64LE(i * 8);
      blocks.set(b, f);
    }
    return f;
  };
  const bit = (f: bigint, n: number) => ((f >> BigInt(n)) & 1n) === 1n;
  /** Head PFN and order of the folio holding `pfn` (folios up to order 9 lie inside a 512-PFN block). */
  const folioOf = (pfn: number): { head: number; order: number; flags: bigint } => {
    const b = Math.floor(pfn / 512);
    const f = block(b);
    let i = pfn % 512;
    if (bit(f[i]!, KPF.compound_tail)) while (i > 0 && !bit(f[i]!, KPF.compound_head)) i--;
    const headFlags = f[i]!;
    if (!bit(headFlags, KPF.compound_head)) return { head: b * 512 + i, order: 0, flags: headFlags };
    let n = 1;
    while (i + n < 512 && bit(f[i + n]!, KPF.compound_tail)) n++;
    return { head: b * 512 + i, order: Math.round(Math.log2(n)), flags: headFlags };
  };

  let pmdRanges: Array<[number, number]> | null = null;
  try {
    pmdRanges = pmdMappedRanges(pid, start, end);
    if (pmdRanges) {
      layout.pmdSource = "pagemap_scan";
      layout.pmdMappedBytes = pmdRanges.reduce((s, [a, b]) => s + (b - a), 0);
    } else {
      layout.pmdSource = "smaps";
      layout.pmdMappedBytes = smapsAnonHuge(pid, start, end);
      layout.limits.push("PAGEMAP_SCAN unavailable: PMD mapping per folio unknown, smaps AnonHugePages given for the VMA");
    }
  } catch {
    layout.limits.push("cannot tell PMD mapping");
  }
  const isPmd = (va: number): boolean | null => {
    if (!pmdRanges) return null;
    return pmdRanges.some(([a, b]) => va >= a && va < b);
  };

  try {
    const byHead = new Map<number, FolioInfo>();
    for (let i = 0; i < pages; i++) {
      const pfn = pfns[i]!;
      if (pfn < 0) continue;
      const va = start + i * PAGE;
      const { head, order, flags } = folioOf(pfn);
      let info = byHead.get(head);
      if (!info) {
        info = {
          address: va - (pfn - head) * PAGE,
          pfn: head,
          order,
          size: PAGE << order,
          mappedPages: 0,
          pmd: isPmd(va),
          flags: FLAG_NAMES.filter(([, n]) => bit(flags, n)).map(([name]) => name),
        };
        byHead.set(head, info);
        layout.folios.push(info);
      }
      info.mappedPages++;
    }
  } finally {
    closeSync(kpf);
  }
  for (const f of layout.folios) {
    const name = sizeName(f.size);
    layout.histogram[name] = (layout.histogram[name] ?? 0) + 1;
    if (!f.flags.includes("anon") && !f.flags.includes("zero")) layout.pageCache[name] = (layout.pageCache[name] ?? 0) + 1;
    if (f.mappedPages < 1 << f.order) layout.partiallyMapped++;
    const last = layout.runs[layout.runs.length - 1];
    const key = `${f.order}|${f.mappedPages}|${f.pmd}|${f.flags.join(",")}`;
    const lastKey = last ? `${last.order}|${last.mappedPages}|${last.pmd}|${last.flags.join(",")}` : "";
    if (last && key === lastKey && f.address === last.end) {
      last.count++;
      last.end = f.address + f.size;
    } else {
      layout.runs.push({
        start: f.address,
        end: f.address + f.size,
        count: 1,
        size: f.size,
        order: f.order,
        mappedPages: f.mappedPages,
        pmd: f.pmd,
        flags: f.flags,
      });
    }
  }
  return layout;
}

/** One line per run, e.g. "0x7f..000-0x7f..000   64 x folio    64K  mapped 15/16  PTE  [thp anon lru]". */
export function formatLayout(l: FolioLayout): string {
  const lines = l.runs.map((r) => {
    const mapping = r.pmd === null ? "?" : r.pmd ? "PMD" : "PTE";
    return `0x${r.start.toString(16)}-0x${r.end.toString(16)} ${String(r.count).padStart(6)} x folio ${sizeName(r.size).padStart(6)}  mapped ${r.mappedPages}/${1 << r.order}  ${mapping}  [${r.flags.join(" ")}]`;
  });
  const hist = Object.entries(l.histogram)
    .map(([k, v]) => `${k} x${v}`)
    .join(" ");
  const cache = Object.entries(l.pageCache)
    .map(([k, v]) => `${k} x${v}`)
    .join(" ");
  lines.push(
    `present ${l.present} swapped ${l.swapped} absent ${l.absent}; folios: ${hist || "none"} (partially mapped ${l.partiallyMapped})${cache ? `; page cache: ${cache}` : ""}`,
  );
  for (const lim of l.limits) lines.push(`note: ${lim}`);
  return lines.join("\n");
}
