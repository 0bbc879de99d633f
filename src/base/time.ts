const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `YYYY-MM-DD HH:MM:SS` in local time, as Pegasus prints start times; `withMs` adds `.mmm`. */
export function formatLocalTime(date: Date, withMs = false): string {
  const text =
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return withMs ? `${text}.${pad(date.getMilliseconds(), 3)}` : text;
}
