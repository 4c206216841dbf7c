/** Number formatting shared by the table and the chart. */

/** 1234567 -> "1,234,567". */
export function int(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

/** 1234567 -> "1.23M", 123456 -> "123k", 999 -> "999". */
export function short(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 1 : 2)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}

/** Two significant decimals for small values, fewer for large ones. */
export function dec(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  if (n < 10) return n.toFixed(2);
  if (n < 100) return n.toFixed(1);
  return Math.round(n).toLocaleString('en-US');
}

/** Bytes -> "12.3" (MB, 10^6 bytes). */
export function mb(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '–';
  return (bytes / 1e6).toFixed(1);
}

export function pct(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  return `${Math.round(x)}%`;
}
