/**
 * Text search: `POST /v1/search` (JSON body with filters) and `GET /v1/search?q=...` (the same, for a
 * browser or curl). Needs only the index and the model: it keeps answering while Redis is down.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { POOLINGS, type Pooling, SEARCH_MODES, type SearchMode } from '@reel/index';
import { sniffImage } from '@reel/models';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { searchView } from '../../json-views.ts';
import { HttpProblem } from '../problem.ts';
import {
  authErrors,
  type Filters,
  FiltersSchema,
  filterQuery,
  filtersFromQuery,
  problemRef,
  toVideoFilters,
} from '../schemas.ts';

const PoolingSchema = Type.Union(
  POOLINGS.map((p) => Type.Literal(p)),
  { description: 'How frames are pooled against the text (default: xpool with a head, else attention)' },
);

const HighlightsSchema = Type.Array(Type.Tuple([Type.Integer(), Type.Integer()]), {
  description: "[start, end) UTF-16 offsets of the query's words in the text (case and accents ignored)",
});

const CueSchema = Type.Union(
  [
    Type.Object({
      trackId: Type.String({ description: 'The caption track (see GET /v1/videos/{id}/captions)' }),
      text: Type.String({ description: "The cue's text, markup removed" }),
      highlights: HighlightsSchema,
    }),
    Type.Null(),
  ],
  { description: "The subtitle cue that found this moment (its span is the cue's); null for frames" },
);

const WordMatchSchema = Type.Object({
  field: Type.Union(
    ['cue', 'title', 'file', 'tag'].map((f) => Type.Literal(f)),
    { description: 'Where the words matched: a subtitle cue, the title, the file name or a tag' },
  ),
  text: Type.String(),
  highlights: HighlightsSchema,
  start: Type.Union([Type.Number(), Type.Null()], { description: "A cue's start, seconds" }),
  end: Type.Union([Type.Number(), Type.Null()], { description: "A cue's end, seconds" }),
  trackId: Type.Union([Type.String(), Type.Null()]),
});

export const SearchModeSchema = Type.Union(
  SEARCH_MODES.map((m) => Type.Literal(m)),
  {
    description:
      'visual: the frames; words: subtitle cues, titles, file names and tags (BM25); hybrid: both, fused by reciprocal rank. Default: hybrid for a text when the tenant has words, else visual. words and hybrid need a query text',
  },
);

const SearchResultSchema = Type.Object({
  rank: Type.Integer({ minimum: 1, description: '1-based place in the whole ranking, counted across pages' }),
  videoId: Type.String(),
  title: Type.String(),
  score: Type.Number({ description: 'Cosine between the text and the pooled video, in [-1, 1]' }),
  confidence: Type.Union([Type.Number(), Type.Null()], {
    description:
      "How far the score stands above the same video's scores for queries that match nothing (texts; for an example, pictures of nothing), in their standard deviations: about 0 for nonsense, 3 and more for a match (independent of the model's cosine scale). Null only when the server has no reference pictures for a search by example",
  }),
  moment: Type.Object({
    start: Type.Number({ description: 'Seconds' }),
    end: Type.Number({ description: 'Seconds' }),
    frameIndex: Type.Integer(),
    thumbnailUrl: Type.Union([Type.String(), Type.Null()]),
    cue: CueSchema,
  }),
  moments: Type.Array(
    Type.Object({
      start: Type.Number({ description: 'Seconds' }),
      end: Type.Number({ description: 'Seconds' }),
      frameIndex: Type.Integer(),
      thumbnailUrl: Type.Union([Type.String(), Type.Null()]),
      score: Type.Number({ description: "The moment's best frame's cosine with the query" }),
      cue: CueSchema,
    }),
    {
      description:
        "The video's matching moments, best first (runs of frames half-way or more from the video's least matching frame to its best); with group=moment, the one moment this result is",
    },
  ),
  matchedBy: Type.Array(Type.Union(['frames', 'cue', 'title', 'file', 'tag'].map((f) => Type.Literal(f))), {
    description:
      'Why it is a result: frames (it stands out visually, or no words matched), then each field whose words matched',
  }),
  words: Type.Array(WordMatchSchema, { description: 'Its best word matches (at most 3), best first' }),
  tags: Type.Array(Type.String()),
  durationSeconds: Type.Union([Type.Number(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  streamUrl: Type.String(),
});

const GroupSchema = Type.Union([Type.Literal('video'), Type.Literal('moment')], {
  description:
    'video (default): one result per video with its moments; moment: every matching moment ranked across videos',
});

const SearchResponseSchema = Type.Object({
  results: Type.Array(SearchResultSchema),
  noGoodMatch: Type.Boolean({
    description:
      'True when none of the best-ranked results reaches matchConfidence: nothing stands out from nonsense (results are still listed, ranked)',
  }),
  matchConfidence: Type.Number({ description: 'The confidence a result needs to count as a match' }),
  warnings: Type.Array(Type.String(), {
    description: 'What to know about the query, e.g. that it was longer than the model reads and was cut',
  }),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  fingerprint: Type.String({ description: 'The model whose vectors were searched' }),
  pooling: Type.String(),
  mode: SearchModeSchema,
  timings: Type.Object({
    encodeMs: Type.Number(),
    stage1Ms: Type.Number(),
    stage2Ms: Type.Number(),
    detailsMs: Type.Number(),
    totalMs: Type.Number(),
  }),
});

/** Fields a multipart search may carry beside its `image` part (numbers arrive as text; ajv coerces). */
const MULTIPART_FIELDS = [
  'query',
  'k',
  'pooling',
  'minScore',
  'exampleWeight',
  'group',
  'mode',
  'cursor',
  'filters',
];

/**
 * A multipart search becomes the JSON body the schema validates: its fields, and the `image` part's
 * bytes, read with the image limit (the upload limit of videos is far larger) and refused past it
 * while streaming.
 */
async function multipartSearchBody(
  request: FastifyRequest,
  maxImageBytes: number,
): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {};
  for await (const part of request.parts()) {
    if (part.type === 'field') {
      if (!MULTIPART_FIELDS.includes(part.fieldname))
        throw new HttpProblem(
          400,
          'VALIDATION_FAILED',
          `field ${part.fieldname}: unknown (a multipart search takes ${MULTIPART_FIELDS.join(', ')} and one image part)`,
        );
      const value = typeof part.value === 'string' ? part.value : String(part.value);
      if (part.fieldname === 'filters') {
        // The JSON body's filters object, as JSON text: validated by the same schema below.
        try {
          body.filters = JSON.parse(value);
        } catch {
          throw new HttpProblem(
            400,
            'VALIDATION_FAILED',
            'field filters: expected the filters object as JSON text',
          );
        }
      } else body[part.fieldname] = value;
      continue;
    }
    if (part.fieldname !== 'image' || body.image !== undefined)
      throw new HttpProblem(
        400,
        'VALIDATION_FAILED',
        `part ${part.fieldname}: expected one file part named image`,
      );
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of part.file as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxImageBytes) {
        part.file.resume();
        throw new HttpProblem(
          413,
          'IMAGE_TOO_LARGE',
          `image: more than ${maxImageBytes} bytes (REEL_API_MAX_IMAGE_BYTES)`,
        );
      }
      chunks.push(chunk);
    }
    body.image = Buffer.concat(chunks);
  }
  return body;
}

export const searchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config, search } = app.deps;
  const query = Type.String({
    minLength: 1,
    maxLength: config.apiMaxQueryChars,
    description: 'What to look for',
  });
  const k = Type.Integer({
    minimum: 1,
    maximum: config.apiMaxK,
    default: 10,
    description: 'Results per page',
  });
  const minScore = Type.Number({
    minimum: -1,
    maximum: 1,
    description: 'Drop results scoring below this cosine',
  });
  const minConfidence = Type.Number({
    minimum: -1000,
    maximum: 1000,
    description: 'Drop results whose confidence is below this (3: only results that stand out)',
  });

  const run = async (
    tenant: string,
    input: {
      query?: string;
      like?: { videoId: string; at?: number };
      image?: unknown;
      exampleWeight?: number;
      k: number;
      pooling?: Pooling;
      filters?: Filters;
      minScore?: number;
      minConfidence?: number;
      group?: 'video' | 'moment';
      mode?: SearchMode;
      cursor?: string;
    },
  ) => {
    if (input.query !== undefined && input.query.trim().length === 0)
      throw new HttpProblem(400, 'VALIDATION_FAILED', 'query: is blank');
    let image: Buffer | undefined;
    if (input.image !== undefined) {
      // Only a multipart part puts bytes here; a JSON client cannot.
      if (!Buffer.isBuffer(input.image))
        throw new HttpProblem(
          400,
          'VALIDATION_FAILED',
          'image: send it as a multipart/form-data file part named image',
        );
      if (sniffImage(input.image) === undefined)
        throw new HttpProblem(
          400,
          'IMAGE_INVALID',
          `image: expected a JPEG, PNG or WebP file, got ${input.image.length} bytes of something else`,
        );
      image = input.image;
    }
    if (input.query === undefined && input.like === undefined && image === undefined)
      throw new HttpProblem(
        400,
        'VALIDATION_FAILED',
        'body: give query (a text), like (an example video) or image (a multipart part), or a text and one example',
      );
    const service = await search.service();
    const response = await service.search(
      {
        ...(input.query !== undefined ? { text: input.query } : {}),
        ...(input.like ? { like: input.like } : {}),
        ...(image ? { image } : {}),
        ...(input.exampleWeight !== undefined ? { exampleWeight: input.exampleWeight } : {}),
      },
      {
        tenant,
        k: input.k,
        ...(input.pooling ? { pooling: input.pooling } : {}),
        filters: toVideoFilters(input.filters),
        ...(input.minScore !== undefined ? { minScore: input.minScore } : {}),
        ...(input.minConfidence !== undefined ? { minConfidence: input.minConfidence } : {}),
        ...(input.group ? { group: input.group } : {}),
        ...(input.mode ? { mode: input.mode } : {}),
        ...(input.cursor ? { cursor: input.cursor } : {}),
      },
    );
    app.observeSearch?.(response);
    return searchView(response);
  };

  app.post(
    '/search',
    {
      config: { scope: 'search' },
      // A multipart search is read into the body the schema then validates.
      preValidation: async (request) => {
        if (request.isMultipart()) request.body = await multipartSearchBody(request, config.apiMaxImageBytes);
      },
      schema: {
        summary: 'Search videos by text, by an example (a video: "more like this"; or an image), or both',
        description:
          'JSON: give `query`, `like`, or both (their normalised embeddings added, the example weighing `exampleWeight`); the example video itself is left out of the results. multipart/form-data: an `image` file part (JPEG, PNG or WebP, at most REEL_API_MAX_IMAGE_BYTES and 40 megapixels) with optional `query`, `k`, `pooling`, `minScore`, `exampleWeight`, `group`, `mode`, `cursor` fields and `filters` (the same object as JSON text).',
        consumes: ['application/json', 'multipart/form-data'],
        tags: ['search'],
        body: Type.Object(
          {
            query: Type.Optional(query),
            like: Type.Optional(
              Type.Object(
                {
                  videoId: Type.String({
                    minLength: 1,
                    maxLength: 200,
                    description: 'A video of your tenant',
                  }),
                  at: Type.Optional(
                    Type.Number({
                      minimum: 0,
                      description:
                        'Seconds: search by the frame nearest this time instead of the whole video',
                    }),
                  ),
                },
                { additionalProperties: false },
              ),
            ),
            exampleWeight: Type.Optional(
              Type.Number({
                minimum: 0,
                maximum: 1,
                description: 'Share of the example when both are given (default 0.5)',
              }),
            ),
            image: Type.Optional(
              Type.Unsafe<Buffer>({
                description: 'multipart/form-data only: the image file part to search by',
              }),
            ),
            k: Type.Optional(k),
            pooling: Type.Optional(PoolingSchema),
            filters: Type.Optional(FiltersSchema),
            minScore: Type.Optional(minScore),
            minConfidence: Type.Optional(minConfidence),
            group: Type.Optional(GroupSchema),
            mode: Type.Optional(SearchModeSchema),
            cursor: Type.Optional(
              Type.String({ maxLength: 4096, description: 'nextCursor of the previous page' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: SearchResponseSchema, ...authErrors, 422: problemRef, 503: problemRef },
      },
    },
    async (request) => run(request.principal.tenant, { ...request.body, k: request.body.k ?? 10 }),
  );

  app.get(
    '/search/poolings',
    {
      config: { scope: 'search' },
      schema: {
        summary: 'The poolings searches may ask for here, and the default',
        description: '`xpool` is offered only when the server has a learned X-Pool head (REEL_XPOOL_HEAD).',
        tags: ['search'],
        response: {
          200: Type.Object({
            available: Type.Array(PoolingSchema),
            default: PoolingSchema,
            xpoolWarning: Type.Optional(
              Type.String({
                description:
                  'Set when the X-Pool head was trained with another CLIP than the one searching, or does not say which',
              }),
            ),
          }),
          ...authErrors,
          503: problemRef,
        },
      },
    },
    async () => {
      const service = await search.service();
      return {
        available: POOLINGS.filter((p) => p !== 'xpool' || service.xpoolHead !== undefined),
        default: service.defaultPooling,
        ...(service.xpoolWarning ? { xpoolWarning: service.xpoolWarning } : {}),
      };
    },
  );

  app.get(
    '/search',
    {
      config: { scope: 'search' },
      schema: {
        summary: 'Search videos by text (query string form)',
        tags: ['search'],
        querystring: Type.Object(
          {
            q: query,
            k: Type.Optional(k),
            pooling: Type.Optional(PoolingSchema),
            ...filterQuery(),
            minScore: Type.Optional(minScore),
            minConfidence: Type.Optional(minConfidence),
            group: Type.Optional(GroupSchema),
            mode: Type.Optional(SearchModeSchema),
            cursor: Type.Optional(Type.String({ maxLength: 4096 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: SearchResponseSchema, ...authErrors, 422: problemRef, 503: problemRef },
      },
    },
    async (request) => {
      const {
        q,
        k: size,
        pooling,
        minScore: min,
        minConfidence: confident,
        group,
        mode,
        cursor,
        ...filters
      } = request.query;
      return run(request.principal.tenant, {
        query: q,
        k: size ?? 10,
        ...(pooling ? { pooling } : {}),
        filters: filtersFromQuery(filters),
        ...(min !== undefined ? { minScore: min } : {}),
        ...(confident !== undefined ? { minConfidence: confident } : {}),
        ...(group ? { group } : {}),
        ...(mode ? { mode } : {}),
        ...(cursor ? { cursor } : {}),
      });
    },
  );
};
