/**
 * bull-board at /admin/queues: the job queues, their jobs and failures, for people operating reel.
 * Admin scope only (open in keyless local mode, like every route).
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { HttpProblem, sendProblem } from '../problem.ts';
import { authorize } from './auth.ts';

export async function queuesBoardPlugin(app: FastifyInstance, options: { prefix?: string }): Promise<void> {
  const { pipeline, access } = app.deps;
  const board = new FastifyAdapter();
  createBullBoard({
    queues: Object.values(pipeline.queues).map((queue) => new BullMQAdapter(queue, { readOnlyMode: false })),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'reel queues' } },
  });
  board.setBasePath(options.prefix ?? '/admin/queues');
  // bull-board sets its own error handler, so a refusal is answered here rather than thrown.
  app.addHook('onRequest', async (request, reply) => {
    try {
      await authorize(access, request, 'admin');
    } catch (error) {
      if (!(error instanceof HttpProblem)) throw error;
      return sendProblem(reply, error.status, error.code, error.message);
    }
  });
  await app.register(board.registerPlugin());
}
