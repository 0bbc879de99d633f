// Native symbols of this process for /pprof/symbol: the function symbols of every file that
// /proc/self/maps shows mapped executable (the node binary, libc, native addons…), listed with
// `nm` and moved to the addresses they have in this process. Loaded once, on first use, and
// cached: a library loaded later is not seen. Without `nm` or /proc the table is simply empty.
import { execFile } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { log } from '../../base/index.ts';

export interface SymbolTable {
  /** How many symbols were loaded, over all mappings. */
  readonly count: number;
  /** The symbol whose code contains `address`, or undefined when none is known. */
  lookup(address: bigint): string | undefined;
}

export interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
  perms: string;
  path: string;
}

interface LoadSegment {
  offset: bigint;
  vaddr: bigint;
  fileBytes: bigint;
  executable: boolean;
}

interface MappedSymbols {
  start: number;
  end: number;
  /** Runtime addresses in ascending order; `names[i]` starts at `addresses[i]`. */
  addresses: Float64Array;
  names: string[];
}

// Bounds: a process maps a few dozen files; nm of the node binary prints about 10 MB.
const mappedFilesMax = 512;
const nmOutputBytesMax = 512 * 1024 * 1024;
const nmTimeoutMs = 60_000;
const programHeadersMax = 4096;
const ELF_PT_LOAD = 1;
const ELF_PF_X = 1;
// nm's symbol types that name code: text (global/local), weak, and GNU indirect functions.
const CODE_SYMBOL_TYPES = new Set(['T', 't', 'W', 'w', 'i']);

let cached: Promise<SymbolTable> | undefined;

/** The process's symbol table, loaded on the first call. Never rejects. */
export function processSymbols(): Promise<SymbolTable> {
  cached ??= loadSymbolTable().catch((error: unknown) => {
    log.warn({ err: error }, 'loading native symbols failed; /pprof/symbol knows none');
    return emptyTable();
  });
  return cached;
}

function emptyTable(): SymbolTable {
  return { count: 0, lookup: () => undefined };
}

/** Parses /proc/<pid>/maps lines: `start-end perms offset dev inode path`. */
export function parseMaps(text: string): Mapping[] {
  const mappings: Mapping[] = [];
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (!match) continue;
    const [, start, end, perms, offset, path] = match as unknown as [string, string, string, string, string, string];
    mappings.push({ start: BigInt(`0x${start}`), end: BigInt(`0x${end}`), perms, offset: BigInt(`0x${offset}`), path });
  }
  return mappings;
}

async function loadSymbolTable(): Promise<SymbolTable> {
  let mapsText: string;
  try {
    mapsText = await readFile('/proc/self/maps', 'utf8');
  } catch {
    return emptyTable();
  }
  const executable = parseMaps(mapsText).filter(
    (mapping) => mapping.perms.includes('x') && mapping.path.startsWith('/') && !mapping.path.endsWith(' (deleted)'),
  );
  const byFile = new Map<string, Mapping[]>();
  for (const mapping of executable) {
    if (!byFile.has(mapping.path) && byFile.size >= mappedFilesMax) continue;
    byFile.set(mapping.path, [...(byFile.get(mapping.path) ?? []), mapping]);
  }
  const tables: MappedSymbols[] = [];
  for (const [path, mappings] of byFile) {
    const symbols = await listSymbols(path);
    if (symbols === 'no-nm') return emptyTable();
    if (symbols.length === 0) continue;
    const segments = await readLoadSegments(path);
    for (const mapping of mappings) tables.push(placeSymbols(mapping, segments, symbols));
  }
  tables.sort((a, b) => a.start - b.start);
  return tableOf(tables);
}

function tableOf(tables: MappedSymbols[]): SymbolTable {
  const count = tables.reduce((sum, table) => sum + table.addresses.length, 0);
  const starts = tables.map((table) => table.start);
  return {
    count,
    lookup(address) {
      if (address > BigInt(Number.MAX_SAFE_INTEGER) || address < 0n) return undefined;
      const target = Number(address);
      const table = tables[lastAtOrBelow(starts, target)];
      if (!table || target >= table.end) return undefined;
      const index = lastAtOrBelow(table.addresses, target);
      return index < 0 ? undefined : table.names[index];
    },
  };
}

/** Index of the last element ≤ target in an ascending array, or -1. */
function lastAtOrBelow(sorted: ArrayLike<number>, target: number): number {
  let low = 0;
  let high = sorted.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! <= target) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

interface FileSymbol {
  value: bigint;
  name: string;
}

/**
 * Parses `nm -C -p` output, keeping the symbols that name code. Each line is decoded on its
 * own, so the names kept do not hold on to the whole (megabytes long) output.
 */
export function parseNm(output: Buffer): FileSymbol[] {
  const symbols: FileSymbol[] = [];
  for (let start = 0; start < output.length; ) {
    const newline = output.indexOf(0x0a, start);
    const end = newline < 0 ? output.length : newline;
    const match = /^([0-9a-fA-F]+) ([A-Za-z]) (.+)$/.exec(output.toString('utf8', start, end));
    start = end + 1;
    if (!match || !CODE_SYMBOL_TYPES.has(match[2]!)) continue;
    symbols.push({ value: BigInt(`0x${match[1]}`), name: match[3]! });
  }
  return symbols;
}

const NOTHING = Buffer.alloc(0);

function runNm(args: string[]): Promise<Buffer | 'no-nm'> {
  return new Promise((resolve) => {
    execFile('nm', args, { maxBuffer: nmOutputBytesMax, timeout: nmTimeoutMs, encoding: 'buffer' }, (error, stdout) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') resolve('no-nm');
      else resolve(error ? NOTHING : stdout);
    });
  });
}

/** The file's own symbol table, or its dynamic one when the file is stripped. */
async function listSymbols(path: string): Promise<FileSymbol[] | 'no-nm'> {
  const full = await runNm(['-C', '-p', path]);
  if (full === 'no-nm') return full;
  const symbols = parseNm(full);
  if (symbols.length > 0) return symbols;
  const dynamic = await runNm(['-C', '-p', '-D', path]);
  return dynamic === 'no-nm' ? dynamic : parseNm(dynamic);
}

/** The PT_LOAD segments of an ELF file, or [] when it is not one we can read. */
async function readLoadSegments(path: string): Promise<LoadSegment[]> {
  let file;
  try {
    file = await open(path, 'r');
  } catch {
    return [];
  }
  try {
    const header = Buffer.alloc(64);
    await file.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46) return [];
    const is64 = header[4] === 2;
    const littleEndian = header[5] === 1;
    const u16 = (buffer: Buffer, at: number): number => (littleEndian ? buffer.readUInt16LE(at) : buffer.readUInt16BE(at));
    const u32 = (buffer: Buffer, at: number): bigint => BigInt(littleEndian ? buffer.readUInt32LE(at) : buffer.readUInt32BE(at));
    const u64 = (buffer: Buffer, at: number): bigint => (littleEndian ? buffer.readBigUInt64LE(at) : buffer.readBigUInt64BE(at));
    const word = is64 ? u64 : u32;
    const tableOffset = Number(word(header, is64 ? 0x20 : 0x1c));
    const entryBytes = u16(header, is64 ? 0x36 : 0x2a);
    const entries = u16(header, is64 ? 0x38 : 0x2c);
    if (entries === 0 || entries > programHeadersMax || entryBytes < (is64 ? 56 : 32)) return [];
    const table = Buffer.alloc(entryBytes * entries);
    await file.read(table, 0, table.length, tableOffset);
    const segments: LoadSegment[] = [];
    for (let index = 0; index < entries; index++) {
      const at = index * entryBytes;
      if (Number(u32(table, at)) !== ELF_PT_LOAD) continue;
      segments.push(
        is64
          ? { offset: u64(table, at + 8), vaddr: u64(table, at + 16), fileBytes: u64(table, at + 32), executable: (Number(u32(table, at + 4)) & ELF_PF_X) !== 0 }
          : { offset: u32(table, at + 4), vaddr: u32(table, at + 8), fileBytes: u32(table, at + 16), executable: (Number(u32(table, at + 24)) & ELF_PF_X) !== 0 },
      );
    }
    return segments;
  } catch {
    return [];
  } finally {
    await file.close();
  }
}

/**
 * Moves a file's symbols to this mapping's addresses. A symbol's value is a link-time virtual
 * address; the segment that covers the mapping's file offset says which virtual address that
 * offset was linked at, and the difference to the mapping's start is the load bias (0 for a
 * non-PIE executable). Without segment information, assume addresses equal file offsets.
 */
function placeSymbols(mapping: Mapping, segments: LoadSegment[], symbols: FileSymbol[]): MappedSymbols {
  const mappedBytes = mapping.end - mapping.start;
  const covering = segments
    .filter((segment) => segment.offset < mapping.offset + mappedBytes && segment.offset + segment.fileBytes > mapping.offset)
    .sort((a, b) => Number(b.executable) - Number(a.executable))[0];
  const linkedAt = covering ? covering.vaddr - covering.offset + mapping.offset : mapping.offset;
  const bias = mapping.start - linkedAt;
  const placed: Array<[number, string]> = [];
  for (const symbol of symbols) {
    const address = symbol.value + bias;
    if (address >= mapping.start && address < mapping.end) placed.push([Number(address), symbol.name]);
  }
  placed.sort((a, b) => a[0] - b[0]);
  return {
    start: Number(mapping.start),
    end: Number(mapping.end),
    addresses: Float64Array.from(placed, ([address]) => address),
    names: placed.map(([, name]) => name),
  };
}
