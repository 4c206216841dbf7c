import { ExpositionWriter } from '../metrics/exposition.js';

const startTimeSeconds = (Date.now() - performance.now()) / 1000;

/**
 * The process's own metrics, for the standalone relay whose `/metrics` is
 * the only one its process has. They use the names client libraries
 * (prom-client, the Go client) give them, so existing dashboards and alerts
 * apply. A relay embedded in an application leaves these to it.
 */
export function writeProcessMetrics(version: string): string {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return new ExpositionWriter()
    .gauge('imrelay_build_info', 'The imrelay version running, in the label; always 1.', [{ labels: { version }, value: 1 }])
    .counter('process_cpu_seconds_total', 'CPU time used by the process, user and system, in seconds.', (cpu.user + cpu.system) / 1e6)
    .gauge('process_resident_memory_bytes', 'Resident memory of the process, in bytes.', memory.rss)
    .gauge('process_start_time_seconds', 'When the process started, in seconds since the epoch.', Math.round(startTimeSeconds))
    .gauge('nodejs_heap_size_used_bytes', 'V8 heap in use, in bytes.', memory.heapUsed)
    .toString();
}
