import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  ClipTokenizer,
  DEFAULT_CONTEXT_LENGTH,
  detectModelFamily,
  inspectModelFolder,
  loadTextTokenizer,
  resolveActiveModel,
  type TextTokenizer,
} from '@reel/models';
import { type Command, InvalidArgumentError } from 'commander';
import { type CliContext, UsageError } from '../context.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2) throw new InvalidArgumentError('expected an integer of at least 2');
  return n;
}

/** The tokenizer file of a model folder (immich: textual/tokenizer.json; HF: tokenizer.json), or a file. */
export function tokenizerFileOf(modelPath: string): string {
  if (existsSync(modelPath) && statSync(modelPath).isFile()) return modelPath;
  for (const candidate of ['textual/tokenizer.json', 'tokenizer.json']) {
    const file = path.join(modelPath, candidate);
    if (existsSync(file)) return file;
  }
  throw new UsageError(
    `${modelPath} has no tokenizer.json (looked for textual/tokenizer.json and tokenizer.json)`,
  );
}

export function registerTokenize(program: Command, context: () => CliContext): void {
  program
    .command('tokenize')
    .description(
      "print a model's token ids for each text, one JSON line per text (special tokens included, truncated, no padding)",
    )
    .argument('<text...>', 'texts to tokenize')
    .option('--model <dir>', "a model folder whose tokenizer.json to use (default: the active model's)")
    .option('--vocab <file>', "OpenAI's bpe_simple_vocab_16e6.txt.gz instead of a model's tokenizer")
    .option(
      '--context <n>',
      `context length, special tokens included (default: the model's, else ${DEFAULT_CONTEXT_LENGTH})`,
      positiveInt,
    )
    .option('--json', 'accepted for consistency: the output is JSON lines already')
    .addHelpText(
      'after',
      '\nExample:\n  $ npx reel tokenize "a photo of a cat"\n  {"text":"a photo of a cat","ids":[49406,320,1125,539,320,2368,49407]}',
    )
    .action(async (texts: string[], options: { model?: string; vocab?: string; context?: number }) => {
      if (options.model && options.vocab) throw new UsageError('give --model or --vocab, not both');
      const tokenizerOptions = options.context === undefined ? {} : { contextLength: options.context };
      let tokenizer: TextTokenizer;
      if (options.vocab) {
        tokenizer = await ClipTokenizer.fromOpenAiVocab(options.vocab, tokenizerOptions);
      } else {
        const modelDir =
          options.model ??
          (() => {
            const { config } = context();
            return resolveActiveModel(config.model, config.paths.models).dir;
          })();
        // A whole model folder: its family says the context length and the cleaning before tokenizing.
        const report = inspectModelFolder(modelDir);
        const family = report.ok ? await detectModelFamily(modelDir, report.layout) : undefined;
        tokenizer = await loadTextTokenizer(tokenizerFileOf(modelDir), {
          contextLength: options.context ?? family?.contextLength ?? DEFAULT_CONTEXT_LENGTH,
          cleaning: family?.cleaning,
        });
      }
      for (const text of texts)
        process.stdout.write(`${JSON.stringify({ text, ids: tokenizer.encode(text) })}\n`);
    });
}
