/**
 * Progress of long CLI steps on stderr (stdout carries each command's answer): a cli-progress bar on a
 * terminal, a few plain lines (start, each quarter, end) when stderr is a file or a pipe, or nothing.
 */
import type { BatchStatus, Pipeline } from '@reel/workers';
import { SingleBar } from 'cli-progress';

/** `bar` on a terminal, `lines` for logs and pipes, `none` for --json. */
export type ProgressDisplay = 'bar' | 'lines' | 'none';

/** The display for a command: nothing with --json, else a bar when stderr is a terminal, else lines. */
export function progressDisplay(json: boolean | undefined, stream = process.stderr): ProgressDisplay {
  if (json) return 'none';
  return stream.isTTY === true ? 'bar' : 'lines';
}

/** Counts something towards a total (`label 3/24 ...`), shown as {@link ProgressDisplay} says. */
export interface CountProgress {
  /** The count so far; `detail` is the bar's trailing text. */
  update(value: number, detail?: string): void;
  stop(): void;
}

/**
 * A counter towards `total`. Plain lines are written when the count first reaches 0, each quarter of the
 * total and the total, so a log gets at most five lines per step.
 */
export function countProgress(
  label: string,
  total: number,
  display: ProgressDisplay,
  unit = 'videos',
): CountProgress {
  if (display === 'bar') {
    const bar = new SingleBar({
      format: `${label} |{bar}| {value}/{total} ${unit} · {detail}`,
      stream: process.stderr,
      hideCursor: true,
    });
    let started = false;
    return {
      update(value, detail = '') {
        if (!started) {
          bar.start(total, value, { detail });
          started = true;
        } else bar.update(value, { detail });
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let shown = -1;
  return {
    update(value) {
      if (display === 'none') return;
      const quarter = total === 0 ? 4 : Math.floor((4 * value) / total);
      if (shown >= 0 && quarter <= shown) return;
      shown = quarter;
      process.stderr.write(`${label}: ${value}/${total} ${unit}\n`);
    },
    stop() {},
  };
}

/**
 * Waits for a batch to end, showing its progress (a bar named `label` with the stages and the ETA, or
 * plain lines). `true` and `false` mean `bar` and `none`.
 */
export async function waitWithProgress(
  pipeline: Pipeline,
  batchId: string,
  display: ProgressDisplay | boolean,
  label = 'ingest',
): Promise<BatchStatus> {
  const mode: ProgressDisplay = display === true ? 'bar' : display === false ? 'none' : display;
  let progress: CountProgress | undefined;
  const status = await pipeline.waitForBatch(batchId, (current) => {
    progress ??= countProgress(label, current.total, mode);
    progress.update(
      current.done,
      `ingest ${current.stages.ingest.running} · embed ${current.stages.embed.running} · index ${current.stages.index.running} running · eta ${current.etaSeconds === undefined ? '-' : `${current.etaSeconds}s`}`,
    );
  });
  progress?.stop();
  return status;
}
