/**
 * bull-board at /admin/queues: the job queues, their jobs and failures, for the people operating reel.
 * It shows every tenant's jobs, so it takes an operator key (open only in keyless local mode), and it
 * is read-only unless REEL_QUEUES_BOARD_WRITABLE is set. Even then, a job added through it cannot make
 * a worker read anything: a job only names a video, whose record the worker must find (see jobs.ts).
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { HttpProblem, sendProblem } from '../problem.ts';
import { authorize } from './auth.ts';

export async function queuesBoardPlugin(app: FastifyInstance, options: { prefix?: string }): Promise<void> {
  const { pipeline, access, config } = app.deps;
  const board = new FastifyAdapter();
  createBullBoard({
    queues: Object.values(pipeline.queues).map(
      (queue) => new BullMQAdapter(queue, { readOnlyMode: !config.queuesBoardWritable }),
    ),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'reel queues' } },
  });
  board.setBasePath(options.prefix ?? '/admin/queues');
  // bull-board sets its own error handler, so a refusal is answered here rather than thrown.
  app.addHook('onRequest', async (request, reply) => {
    try {
      await authorize(access, request, { operator: 'required' });
    } catch (error) {
      if (!(error instanceof HttpProblem)) throw error;
      return sendProblem(reply, error.status, error.code, error.message);
    }
  });
  await app.register(board.registerPlugin());
}
