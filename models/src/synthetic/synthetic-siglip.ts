/**
 * A SigLIP-shaped sibling of the synthetic CLIP model, in the Hugging Face / Transformers.js layout with
 * the signatures of `Xenova/siglip-base-patch16-224`: `config.json` `model_type: "siglip"`; a
 * SentencePiece Unigram `tokenizer.json` (Metaspace `▁`, `… </s>` post-processor, fixed padding to 64
 * with `</s>`); a text tower taking `input_ids` only and outputting `last_hidden_state` and
 * `pooler_output`; a vision tower normalising with mean and std 0.5, resized to exactly 224×224 without
 * a crop, bilinear. Same understanding and, with the same seed, the same space as the CLIP one.
 */
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

/** SigLIP's text length: every text is padded to it. */
export const SYNTHETIC_SIGLIP_CONTEXT_LENGTH = 64;
const SIGLIP_MEAN = [0.5, 0.5, 0.5];
const SIGLIP_STD = [0.5, 0.5, 0.5];
const SPACE = '\u2581';

/** Unigram pieces: SigLIP's three specials, every word as `▁word`, then letters and `▁` as fallbacks. */
function pieces(): { vocab: [string, number][]; idsOf: Map<string, number[]> } {
  const vocab: [string, number][] = [
    ['<pad>', 0],
    ['</s>', 0],
    ['<unk>', 0],
  ];
  const idsOf = new Map<string, number[]>();
  const conceptWords = [
    ...SYNTHETIC_COLOURS.flatMap((colour) => colour.words),
    ...SYNTHETIC_REGIONS.flatMap((region) => region.words),
    ...Object.keys(SYNTHETIC_BRIGHTNESS_WORDS),
  ];
  for (const word of conceptWords) {
    idsOf.set(word, [vocab.length]);
    vocab.push([`${SPACE}${word}`, -2]);
  }
  for (const word of SYNTHETIC_FILLER_WORDS) vocab.push([`${SPACE}${word}`, -2]);
  vocab.push([SPACE, -8]);
  for (const letter of 'abcdefghijklmnopqrstuvwxyz') vocab.push([letter, -10]);
  return { vocab, idsOf };
}

/** Every file of the SigLIP-shaped synthetic model folder (HF layout), by POSIX relative path. */
export function syntheticSiglipFiles(options: { projectionSeed?: number } = {}): Map<string, Uint8Array> {
  const { vocab, idsOf } = pieces();
  const files = new Map<string, Uint8Array>();
  files.set(
    'onnx/text_model.onnx',
    syntheticTextModel(
      {
        idsOf,
        regularIdCount: vocab.length,
        attentionMask: false,
        outputName: 'pooler_output',
        hiddenStateName: 'last_hidden_state',
      },
      options.projectionSeed,
    ),
  );
  files.set(
    'onnx/vision_model.onnx',
    syntheticVisionModel(options.projectionSeed, {
      output: 'pooler_output',
      hiddenState: 'last_hidden_state',
      mean: SIGLIP_MEAN,
      std: SIGLIP_STD,
    }),
  );
  files.set(
    'tokenizer.json',
    json({
      version: '1.0',
      truncation: {
        direction: 'Right',
        max_length: SYNTHETIC_SIGLIP_CONTEXT_LENGTH,
        strategy: 'LongestFirst',
        stride: 0,
      },
      padding: {
        strategy: { Fixed: SYNTHETIC_SIGLIP_CONTEXT_LENGTH },
        direction: 'Right',
        pad_to_multiple_of: null,
        pad_id: 1,
        pad_type_id: 0,
        pad_token: '</s>',
      },
      added_tokens: ['<pad>', '</s>', '<unk>'].map((content, id) => ({
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: { type: 'Lowercase' },
      pre_tokenizer: { type: 'Metaspace', replacement: SPACE, prepend_scheme: 'always', split: true },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
        pair: [
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '</s>', type_id: 0 } },
          { Sequence: { id: 'B', type_id: 0 } },
          { SpecialToken: { id: '</s>', type_id: 0 } },
        ],
        special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
      },
      decoder: { type: 'Metaspace', replacement: SPACE, prepend_scheme: 'always', split: true },
      model: { type: 'Unigram', unk_id: 2, vocab, byte_fallback: false },
    }),
  );
  files.set(
    'tokenizer_config.json',
    json({
      tokenizer_class: 'SiglipTokenizer',
      eos_token: '</s>',
      pad_token: '</s>',
      unk_token: '<unk>',
      model_max_length: SYNTHETIC_SIGLIP_CONTEXT_LENGTH,
      do_lower_case: true,
    }),
  );
  files.set(
    'preprocessor_config.json',
    json({
      image_processor_type: 'SiglipImageProcessor',
      do_convert_rgb: null,
      do_resize: true,
      size: { height: SYNTHETIC_IMAGE_SIZE, width: SYNTHETIC_IMAGE_SIZE },
      resample: 2,
      do_rescale: true,
      rescale_factor: 1 / 255,
      do_normalize: true,
      image_mean: SIGLIP_MEAN,
      image_std: SIGLIP_STD,
    }),
  );
  files.set(
    'config.json',
    json({
      architectures: ['SiglipModel'],
      model_type: 'siglip',
      text_config: {
        model_type: 'siglip_text_model',
        vocab_size: vocab.length,
        max_position_embeddings: SYNTHETIC_SIGLIP_CONTEXT_LENGTH,
        hidden_size: SYNTHETIC_EMBED_DIM,
      },
      vision_config: {
        model_type: 'siglip_vision_model',
        image_size: SYNTHETIC_IMAGE_SIZE,
        hidden_size: SYNTHETIC_EMBED_DIM,
        patch_size: 16,
      },
      reel_synthetic: true,
      description:
        'reel synthetic SigLIP-shaped model: the synthetic CLIP model’s words; for tests and demos only.',
    }),
  );
  return files;
}

/** Writes the SigLIP-shaped synthetic model folder into `dir`. Same bytes on every call. */
export async function writeSyntheticSiglip(
  dir: string,
  options: { projectionSeed?: number } = {},
): Promise<void> {
  await writeModelFiles(dir, syntheticSiglipFiles(options));
}
