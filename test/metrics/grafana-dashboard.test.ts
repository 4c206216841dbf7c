import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { writeProcessMetrics } from '../../src/cli/process-metrics.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { meshNode } from '../helpers/mesh.js';

useRelayHarness();

const DASHBOARD = new URL('../../docs/grafana-dashboard.json', import.meta.url);

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}

/** The metric families an exposition declares (`# TYPE name kind`). */
function families(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!));
}

describe('docs/grafana-dashboard.json', () => {
  it('queries only metrics the relay, imrelay serve and the nodes (over a relay or in a mesh) expose', async () => {
    const { server, url } = await startServer();
    const client = await connectClient(url, 'im-1');
    const mesh = meshNode('im-m');
    await mesh.connect();
    const exposed = new Set([
      ...families(server.metrics()),
      ...families(client.metrics()),
      ...families(mesh.metrics()),
      ...families(writeProcessMetrics('0.0.0')),
    ]);

    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; uid: string };
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets ?? []) {
        for (const [name] of expr.matchAll(/\b(?:imrelay|process|nodejs)_[a-z_]+/g)) queried.add(name.replace(/_bucket$/, ''));
      }
    }
    expect(queried.size).toBeGreaterThan(20);
    expect([...queried].filter((name) => !exposed.has(name))).toEqual([]);
    // The names the operations issue made a contract are on the dashboard.
    for (const name of [
      'imrelay_nodes_connected',
      'imrelay_routes_total',
      'imrelay_deliveries_total',
      'imrelay_undelivered_users_total',
      'imrelay_bytes_received_total',
      'imrelay_bytes_sent_total',
      'imrelay_protocol_errors_total',
      'imrelay_auth_failures_total',
      'imrelay_outbound_buffered_bytes',
      'imrelay_mesh_peer_linked',
      'imrelay_mesh_links_down_total',
    ]) {
      expect(queried, name).toContain(name);
    }
  });
});
