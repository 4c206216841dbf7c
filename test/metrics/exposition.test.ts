import { describe, expect, it } from 'vitest';
import { ExpositionWriter, PROMETHEUS_CONTENT_TYPE } from '../../src/metrics/exposition.js';
import { Histogram } from '../../src/metrics/histogram.js';
import { parseSamples, promtoolCheck } from './exposition-text.js';

describe('the Prometheus text format writer', () => {
  it('writes HELP and TYPE once per family, then its samples, in a form promtool accepts', () => {
    const text = new ExpositionWriter()
      .counter('demo_requests_total', 'Requests served.', 3)
      .gauge('demo_queue_depth', 'Items waiting.', [
        { labels: { queue: 'a' }, value: 1 },
        { labels: { queue: 'b' }, value: 0.5 },
      ])
      .toString();
    expect(text).toBe(
      [
        '# HELP demo_requests_total Requests served.',
        '# TYPE demo_requests_total counter',
        'demo_requests_total 3',
        '# HELP demo_queue_depth Items waiting.',
        '# TYPE demo_queue_depth gauge',
        'demo_queue_depth{queue="a"} 1',
        'demo_queue_depth{queue="b"} 0.5',
        '',
      ].join('\n'),
    );
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    expect(PROMETHEUS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('escapes label values and help text: a node id may hold quotes, backslashes and any UTF-8', () => {
    const text = new ExpositionWriter()
      .gauge('demo_node_bytes', 'Bytes per node\\nobody reads "this" \nline two.', [{ labels: { node: 'im-"1"\\é\n' }, value: 7 }])
      .toString();
    expect(text).toContain('# HELP demo_node_bytes Bytes per node\\\\nobody reads "this" \\nline two.\n');
    expect(text).toContain('demo_node_bytes{node="im-\\"1\\"\\\\é\\n"} 7\n');
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });

  it('spells infinities and NaN as the format does', () => {
    const text = new ExpositionWriter()
      .gauge('demo_values', 'Edge values.', [
        { labels: { v: 'inf' }, value: Infinity },
        { labels: { v: 'ninf' }, value: -Infinity },
        { labels: { v: 'nan' }, value: NaN },
      ])
      .toString();
    expect(text).toContain('demo_values{v="inf"} +Inf\n');
    expect(text).toContain('demo_values{v="ninf"} -Inf\n');
    expect(text).toContain('demo_values{v="nan"} NaN\n');
    expect(promtoolCheck(text).status).toBe(0);
  });

  it('writes a histogram as cumulative buckets up to +Inf, then _sum and _count, in base units', () => {
    const latency = new Histogram([1, 10, 100], 1000);
    for (const ms of [0, 1, 5, 50, 5000]) latency.observe(ms);
    const text = new ExpositionWriter()
      .histogram('demo_latency_seconds', 'Latency.', [{ labels: { node: 'a' }, histogram: latency }])
      .toString();
    const samples = parseSamples(text);
    expect(samples.get('demo_latency_seconds_bucket{node="a",le="0.001"}')).toBe(2);
    expect(samples.get('demo_latency_seconds_bucket{node="a",le="0.01"}')).toBe(3);
    expect(samples.get('demo_latency_seconds_bucket{node="a",le="0.1"}')).toBe(4);
    expect(samples.get('demo_latency_seconds_bucket{node="a",le="+Inf"}')).toBe(5);
    expect(samples.get('demo_latency_seconds_sum{node="a"}')).toBeCloseTo(5.056);
    expect(samples.get('demo_latency_seconds_count{node="a"}')).toBe(5);
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });

  it('refuses what would make an invalid exposition: a bad name, a counter without _total, a family twice', () => {
    expect(() => new ExpositionWriter().gauge('demo-bad', 'x', 1)).toThrow(/invalid metric name/);
    expect(() => new ExpositionWriter().counter('demo_requests', 'x', 1)).toThrow(/_total/);
    expect(() => new ExpositionWriter().gauge('demo_a', 'x', [{ labels: { 'bad-label': 'v' }, value: 1 }])).toThrow(/invalid label name/);
    expect(() => new ExpositionWriter().gauge('demo_a', 'x', 1).gauge('demo_a', 'x', 2)).toThrow(/twice/);
  });

  it('promtool itself rejects a broken exposition (the check is real)', () => {
    const { status, output } = promtoolCheck('# TYPE demo_requests counter\ndemo_requests 1\n');
    expect(status).not.toBe(0);
    expect(output).not.toBe('');
  });
});
