// Operations endpoints on the admin listener: /metrics and /readyz (/healthz is in server.ts).
import type { FastifyPluginAsync } from 'fastify';
import type { GatewayMetrics } from '../metrics/metrics.ts';

export function opsRoutes(metrics: GatewayMetrics, ready: () => { ready: boolean; why?: string }): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    });
    app.get('/readyz', async (_req, reply) => {
      const state = ready();
      if (!state.ready) reply.code(503);
      return state;
    });
  };
}
