import { InvalidArgumentError } from './errors.js';

// The checks every options resolver shares: a value passes through, or
// `ERR_INVALID_ARGUMENT` names the option and what it got.

/** A finite number above 0. */
export function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** A finite number of 0 or more. */
export function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`${name} must be a number of 0 or more, got ${String(value)}`);
  }
  return value;
}

/** A whole number of 1 or more. */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** A period a timer can keep (from `min` ms): setInterval turns anything past 2^31 - 1 ms into 1 ms. */
export function timerMs(name: string, value: number, min = 1): number {
  if (typeof value !== 'number' || !(value >= min && value <= 0x7fff_ffff)) {
    throw new InvalidArgumentError(`${name} must be a number of milliseconds from ${min} to 2147483647, got ${String(value)}`);
  }
  return value;
}
