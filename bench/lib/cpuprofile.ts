/** Reads a V8 .cpuprofile (as written by `node --cpu-prof`) and sums self time per function and per file. */
import { readFileSync } from 'node:fs';
import { ROOT } from './paths.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  micros: number;
  /** Share of the busy (non-idle) time, %. */
  percent: number;
}

export interface ProfileSummary {
  /** True when only the samples inside the window given were counted. */
  windowed: boolean;
  busyMicros: number;
  idleMicros: number;
  functions: SelfTime[];
  files: SelfTime[];
}

function where(url: string, line: number): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  const short = path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
  return line > 0 ? `${short}:${line + 1}` : short;
}

function fileOf(url: string): string {
  if (url === '') return '(native / VM)';
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

/**
 * Self time per function and per file. With `window` (µs on the profiled
 * process's monotonic clock, the clock of the profile's timestamps), only
 * the samples inside it count; when none fall inside, the whole profile does.
 */
export function summarizeProfile(file: string, top = 25, window?: { fromMicros: number; toMicros: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const collect = (inWindow: (t: number) => boolean): Map<number, number> => {
    const self = new Map<number, number>();
    let t = profile.startTime;
    // timeDeltas[i] leads up to sample i; timeDeltas[i + 1] is the time from sample i to the next: charge it to sample i.
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      if (!inWindow(t)) continue;
      const dt = profile.timeDeltas[i + 1] ?? 0;
      const id = profile.samples[i]!;
      self.set(id, (self.get(id) ?? 0) + Math.max(0, dt));
    }
    return self;
  };
  let self = window ? collect((t) => t >= window.fromMicros && t <= window.toMicros) : new Map<number, number>();
  const windowed = self.size > 0;
  if (!windowed) self = collect(() => true);
  const fns = new Map<string, SelfTime>();
  const files = new Map<string, SelfTime>();
  let idle = 0;
  let busy = 0;
  for (const [id, micros] of self) {
    const frame = byId.get(id)!.callFrame;
    const name = frame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += micros;
      continue;
    }
    busy += micros;
    const key = `${name}@${frame.url}:${frame.lineNumber}`;
    const f = fns.get(key) ?? { name, where: where(frame.url, frame.lineNumber), micros: 0, percent: 0 };
    f.micros += micros;
    fns.set(key, f);
    const fileKey = name.startsWith('(') && frame.url === '' ? name : fileOf(frame.url);
    const g = files.get(fileKey) ?? { name: fileKey, where: '', micros: 0, percent: 0 };
    g.micros += micros;
    files.set(fileKey, g);
  }
  const finish = (list: SelfTime[]): SelfTime[] =>
    list
      .map((x) => ({ ...x, percent: busy > 0 ? (x.micros / busy) * 100 : 0 }))
      .sort((a, b) => b.micros - a.micros)
      .slice(0, top);
  return { windowed, busyMicros: busy, idleMicros: idle, functions: finish([...fns.values()]), files: finish([...files.values()]) };
}
