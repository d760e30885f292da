/**
 * A multilingual sibling of the synthetic CLIP model, in immich's layout and with the signatures of
 * immich's multilingual exports (M-CLIP, LaBSE): a WordPiece `tokenizer.json` (BERT normalizer and
 * pre-tokenizer, `[CLS] … [SEP]`), a text tower taking `input_ids` and `attention_mask` as int32, outputs
 * named `embedding`, open_clip's `config.json` naming a Hugging Face tokenizer, and a `preprocess_cfg.json`.
 *
 * It knows the synthetic model's colour, position and light/dark words in English, German, French,
 * Spanish and Chinese (single characters, which BERT's pre-tokenizer splits out), and embeds into the
 * same space as {@link syntheticClipFiles} with the same seed: `rot links, blau rechts`,
 * `rouge à gauche, bleu à droite`, `左红右蓝` and `red on the left, blue on the right` are the same query.
 */
import { CLIP_IMAGE_MEAN, CLIP_IMAGE_STD } from '../clip/preprocess-config.ts';
import {
  json,
  SYNTHETIC_BRIGHTNESS_WORDS,
  SYNTHETIC_COLOURS,
  SYNTHETIC_EMBED_DIM,
  SYNTHETIC_FILLER_WORDS,
  SYNTHETIC_IMAGE_SIZE,
  SYNTHETIC_REGIONS,
  syntheticTextModel,
  syntheticVisionModel,
  writeModelFiles,
} from './synthetic-clip.ts';

/** Token length of the multilingual text tower (immich pads every text to it): open_clip's 77. */
export const SYNTHETIC_MULTILINGUAL_CONTEXT_LENGTH = 77;

/** English concept word → its translations (lowercase, as BERT's normalizer leaves them). */
export const SYNTHETIC_TRANSLATIONS: Readonly<Record<string, readonly string[]>> = {
  red: ['rot', 'rote', 'roter', 'rotes', 'rouge', 'rojo', 'roja', '红'],
  orange: ['naranja', '橙'],
  yellow: ['gelb', 'gelbe', 'jaune', 'amarillo', 'amarilla', '黄'],
  green: ['grün', 'grüne', 'gruen', 'vert', 'verte', 'verde', '绿'],
  cyan: ['türkis', 'cian', 'turquesa', '青'],
  blue: ['blau', 'blaue', 'bleu', 'bleue', 'azul', '蓝'],
  purple: ['lila', 'violett', 'violette', 'morado', 'morada', '紫'],
  pink: ['rosa', 'rose', '粉'],
  brown: ['braun', 'marron', 'marrón', '棕'],
  white: ['weiß', 'weiss', 'blanc', 'blanche', 'blanco', 'blanca', '白'],
  gray: ['grau', 'gris', 'grise', '灰'],
  black: ['schwarz', 'noir', 'noire', 'negro', 'negra', '黑'],
  left: ['links', 'linken', 'gauche', 'izquierda', '左'],
  right: ['rechts', 'rechten', 'droite', 'derecha', '右'],
  top: ['oben', 'haut', 'arriba', '上'],
  bottom: ['unten', 'bas', 'abajo', '下'],
  centre: ['mitte', 'milieu', 'centro', '中'],
  whole: ['ganz', 'überall', 'entier', 'partout', 'todo', '全'],
  light: ['hell', 'clair', 'claire', 'claro', 'clara', '亮'],
  dark: ['dunkel', 'sombre', 'foncé', 'oscuro', 'oscura', '暗'],
};

/** Words that carry no concept in the other languages (kept whole so they do not become [UNK]). */
const FILLER_TRANSLATIONS = [
  'und',
  'der',
  'die',
  'das',
  'ein',
  'eine',
  'auf',
  'im',
  'mit',
  'seite',
  'et',
  'le',
  'la',
  'les',
  'un',
  'une',
  'à',
  'au',
  'de',
  'du',
  'avec',
  'côté',
  'y',
  'el',
  'los',
  'las',
  'una',
  'en',
  'con',
  'lado',
  '和',
  '在',
  '色',
  '边',
  '的',
];

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** The WordPiece vocabulary: specials, then every word once, and which concept word each id means. */
function vocabulary(): { vocab: Map<string, number>; idsOf: Map<string, number[]> } {
  const vocab = new Map<string, number>();
  const idsOf = new Map<string, number[]>();
  for (const token of SPECIALS) vocab.set(token, vocab.size);
  const add = (word: string, concept: string | undefined) => {
    if (!vocab.has(word)) vocab.set(word, vocab.size);
    if (concept === undefined) return;
    const ids = idsOf.get(concept) ?? [];
    if (!ids.includes(vocab.get(word)!)) ids.push(vocab.get(word)!);
    idsOf.set(concept, ids);
  };
  const conceptWords = [
    ...SYNTHETIC_COLOURS.flatMap((colour) => colour.words),
    ...SYNTHETIC_REGIONS.flatMap((region) => region.words),
    ...Object.keys(SYNTHETIC_BRIGHTNESS_WORDS),
  ];
  // Every English word is its own concept word; a translation means the concept it translates.
  for (const word of conceptWords) add(word, word);
  for (const [concept, words] of Object.entries(SYNTHETIC_TRANSLATIONS)) {
    for (const word of words) add(word, concept);
  }
  for (const word of [...SYNTHETIC_FILLER_WORDS, ...FILLER_TRANSLATIONS]) add(word, undefined);
  return { vocab, idsOf };
}

/** A `tokenizer.json` in the shape the Rust crate writes for BERT-style WordPiece (LaBSE's layout). */
function wordPieceTokenizerJson(vocab: Map<string, number>): Record<string, unknown> {
  const id = (token: string) => vocab.get(token)!;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((token) => ({
      id: id(token),
      content: token,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        {
          type: 'BertNormalizer',
          clean_text: true,
          handle_chinese_chars: true,
          strip_accents: false,
          lowercase: true,
        },
      ],
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab),
    },
  };
}

/**
 * Every file of the multilingual synthetic model folder (immich layout), by POSIX relative path. Pure
 * and deterministic. `projectionSeed` as in {@link syntheticClipFiles}: the same seed embeds into the
 * same space as the English model.
 */
export function syntheticMultilingualFiles(
  options: { projectionSeed?: number } = {},
): Map<string, Uint8Array> {
  const { vocab, idsOf } = vocabulary();
  // Specials and fillers are in no `idsOf` list, so their rows stay zero.
  const regularIdCount = vocab.size;
  const files = new Map<string, Uint8Array>();
  files.set(
    'textual/model.onnx',
    syntheticTextModel(
      { idsOf, regularIdCount, idType: 'int32', outputName: 'embedding' },
      options.projectionSeed,
    ),
  );
  files.set('textual/tokenizer.json', json(wordPieceTokenizerJson(vocab)));
  files.set(
    'textual/tokenizer_config.json',
    json({
      tokenizer_class: 'BertTokenizer',
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      mask_token: '[MASK]',
      do_lower_case: true,
      model_max_length: SYNTHETIC_MULTILINGUAL_CONTEXT_LENGTH,
    }),
  );
  files.set(
    'visual/model.onnx',
    syntheticVisionModel(options.projectionSeed, { input: 'image', output: 'embedding' }),
  );
  files.set(
    'visual/preprocess_cfg.json',
    json({
      size: [SYNTHETIC_IMAGE_SIZE, SYNTHETIC_IMAGE_SIZE],
      mode: 'RGB',
      mean: CLIP_IMAGE_MEAN,
      std: CLIP_IMAGE_STD,
      interpolation: 'bicubic',
      resize_mode: 'shortest',
      fill_color: 0,
    }),
  );
  // The shape of immich's M-CLIP config.json (XLM-Roberta-Large-Vit-B-16Plus): the open_clip config of
  // the vision tower, no Hugging Face tokenizer named; the WordPiece tokenizer.json tells the family.
  files.set(
    'config.json',
    json({
      embed_dim: SYNTHETIC_EMBED_DIM,
      vision_cfg: { image_size: SYNTHETIC_IMAGE_SIZE, layers: 1, width: SYNTHETIC_EMBED_DIM, patch_size: 16 },
      text_cfg: {
        context_length: SYNTHETIC_MULTILINGUAL_CONTEXT_LENGTH,
        vocab_size: 49408,
        width: SYNTHETIC_EMBED_DIM,
        heads: 1,
        layers: 1,
      },
      reel_synthetic: true,
      description:
        'reel synthetic multilingual CLIP: the synthetic model’s colour, position and light/dark words in ' +
        'English, German, French, Spanish and Chinese; for tests and demos only.',
    }),
  );
  return files;
}

/** Writes the multilingual synthetic model folder (immich layout) into `dir`. Same bytes on every call. */
export async function writeSyntheticMultilingual(
  dir: string,
  options: { projectionSeed?: number } = {},
): Promise<void> {
  await writeModelFiles(dir, syntheticMultilingualFiles(options));
}
