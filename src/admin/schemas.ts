// JSON schemas for the admin API's inputs (fastify validates them; failures answer 400).

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 64 } },
} as const;

export const decisionBody = {
  type: ['object', 'null'],
  properties: { reason: { type: 'string', maxLength: 2000 } },
  additionalProperties: false,
} as const;

export function listQuery(statuses: readonly string[]) {
  return {
    type: 'object',
    properties: {
      status: { type: 'string', enum: [...statuses, 'all'] },
      identity: { type: 'string', maxLength: 200 },
      limit: { type: 'integer', minimum: 1, maximum: 10_000 },
    },
    additionalProperties: false,
  } as const;
}

export const grantBody = {
  type: 'object',
  required: ['scopes', 'duration', 'justification'],
  properties: {
    upstream: { type: ['string', 'null'], maxLength: 200 },
    scopes: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: {
        type: 'object',
        required: ['privilege', 'objects'],
        properties: {
          privilege: { type: 'string', maxLength: 32 },
          objects: { type: 'array', minItems: 1, maxItems: 200, items: { type: 'string', maxLength: 200 } },
        },
        additionalProperties: false,
      },
    },
    duration: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', maxLength: 32 }] },
    justification: { type: 'string', maxLength: 2000 },
  },
  additionalProperties: false,
} as const;

export interface ListQuery {
  status?: string;
  identity?: string;
  limit?: number;
}

export interface DecisionBody {
  reason?: string;
}
