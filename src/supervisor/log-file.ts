// A log file that rotates by size: `name.log` is current, `name.log.1` the one before, up to
// `files - 1` old ones. Writes are synchronous, so the bytes of one process keep their order
// and a crash of the supervisor loses nothing already handed over.
import fs from 'node:fs';
import path from 'node:path';

export interface RotatingLogOptions {
  file: string;
  bytesMax: number;
  /** Files kept in all, the current one included (at least 1). */
  files: number;
}

export class RotatingLog {
  private fd: number | undefined;
  private bytes = 0;

  constructor(private readonly options: RotatingLogOptions) {
    fs.mkdirSync(path.dirname(options.file), { recursive: true });
  }

  get file(): string {
    return this.options.file;
  }

  write(chunk: Buffer | string): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (data.length === 0) return;
    if (this.fd === undefined) this.open();
    if (this.bytes > 0 && this.bytes + data.length > this.options.bytesMax) this.rotate();
    try {
      fs.writeSync(this.fd!, data);
      this.bytes += data.length;
    } catch {
      // A full or vanished disk must not stop supervision; the next write tries a fresh file.
      this.close();
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }

  private open(): void {
    this.fd = fs.openSync(this.options.file, 'a');
    this.bytes = fs.fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.close();
    const { file, files } = this.options;
    if (files <= 1) {
      fs.rmSync(file, { force: true });
    } else {
      fs.rmSync(`${file}.${files - 1}`, { force: true });
      for (let index = files - 2; index >= 1; index--) {
        if (fs.existsSync(`${file}.${index}`)) fs.renameSync(`${file}.${index}`, `${file}.${index + 1}`);
      }
      if (fs.existsSync(file)) fs.renameSync(file, `${file}.1`);
    }
    this.open();
  }
}
