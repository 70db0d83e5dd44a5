// The admin HTTP API over the approval service: list and decide reviews, request and decide
// grants. Every /api/ route needs `Authorization: Bearer <token>` (the identities' token scheme);
// approvers (members of an approver group) see and decide everything, others see their own.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { ApprovalService } from '../approvals/service.ts';
import { ApprovalError, httpStatusOf } from '../approvals/types.ts';
import type { Identity } from '../policy/types.ts';
import { grantRoutes } from './grant-routes.ts';
import { reviewRoutes } from './review-routes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for every /api/ request that got past authentication. */
    identity: Identity | null;
  }
}

export interface AdminServerOptions {
  approvals: ApprovalService;
  /** Token → identity (TokenDirectory.authenticate, or an OIDC verifier). */
  authenticate: (token: string) => Identity | null | Promise<Identity | null>;
  /** Members of these groups may list and decide everything (see allApproverGroups(config)). */
  approverGroups: string[];
  /** The API's public base URL, used in Location headers and hints. */
  publicUrl?: string;
  /** More routes (console, audit, metrics): registered after the built-in ones, behind the same /api/ auth. */
  extraRoutes?: FastifyPluginAsync;
  logger?: FastifyServerOptions['logger'];
}

export interface RouteContext {
  approvals: ApprovalService;
  isApprover(who: Identity): boolean;
  link(path: string): string;
}

export async function buildAdminServer(opts: AdminServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false } },
  });
  app.decorateRequest('identity', null);
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/')) return;
    const identity = await authenticate(req, opts.authenticate);
    if (!identity) {
      reply.header('www-authenticate', 'Bearer realm="scopegate"');
      return reply.code(401).send({ error: 'unauthorized', message: 'send Authorization: Bearer <your scopegate token>' });
    }
    req.identity = identity;
  });
  app.setErrorHandler((err: FastifyError, req, reply) => sendError(err, req, reply));
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not-found', message: `no route ${req.method} ${req.url.split('?')[0]}` }));

  const ctx: RouteContext = {
    approvals: opts.approvals,
    isApprover: (who) => who.groups.some((g) => opts.approverGroups.includes(g)),
    link: (path) => `${(opts.publicUrl ?? '').replace(/\/+$/, '')}${path}`,
  };
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/api/whoami', async (req) => {
    const who = identityOf(req);
    return { name: who.name, groups: who.groups, approver: ctx.isApprover(who) };
  });
  await app.register(reviewRoutes(ctx));
  await app.register(grantRoutes(ctx));
  if (opts.extraRoutes) await app.register(opts.extraRoutes);
  return app;
}

/** The authenticated caller (the onRequest hook guarantees one on /api/ routes). */
export function identityOf(req: FastifyRequest): Identity {
  if (!req.identity) throw new ApprovalError('forbidden', 'not authenticated');
  return req.identity;
}

async function authenticate(req: FastifyRequest, check: AdminServerOptions['authenticate']): Promise<Identity | null> {
  const header = req.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) return null;
  try {
    return await check(m[1]);
  } catch {
    return null;
  }
}

function sendError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof ApprovalError) return reply.code(httpStatusOf[err.code]).send({ error: err.code, message: err.message });
  if (err.validation) return reply.code(400).send({ error: 'bad-request', message: err.message });
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return reply.code(status).send({ error: 'bad-request', message: err.message });
  req.log.error({ err }, 'admin API error');
  return reply.code(500).send({ error: 'internal', message: 'internal error (see the gateway log)' });
}
