/**
 * Pictures of nothing, for confidence of searches by example (index/src/search/confidence.ts): the
 * image side's counterpart of the reference texts. A search by an image or a video scores each result
 * against these too, and a result's confidence is how far its score stands above them (per video, in
 * their standard deviations): flat fields, gradients, a checkerboard and noise show no scene, so a real
 * match stands well above them whatever the model's image–image cosine scale. Made here by sharp, the
 * same every time (seeded noise), as PNG; embedded once per model.
 */
import sharp from 'sharp';
import { mulberry32 } from '../seeded-random.ts';

const SIZE = 64;

function png(pixel: (x: number, y: number) => [number, number, number]): Promise<Buffer> {
  const raw = Buffer.alloc(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) raw.set(pixel(x, y), (y * SIZE + x) * 3);
  return sharp(raw, { raw: { width: SIZE, height: SIZE, channels: 3 } })
    .png()
    .toBuffer();
}

/** The reference pictures (PNG bytes): 8 of them. */
export async function referenceStills(): Promise<Uint8Array[]> {
  const flat = (v: number) => () => [v, v, v] as [number, number, number];
  const noise = (seed: number, grey: boolean) => {
    const r = mulberry32(seed);
    return () => {
      const v = Math.floor(r() * 256);
      return (grey ? [v, v, v] : [v, Math.floor(r() * 256), Math.floor(r() * 256)]) as [
        number,
        number,
        number,
      ];
    };
  };
  const scale = (t: number) => Math.round((t / (SIZE - 1)) * 255);
  return Promise.all([
    png(flat(128)),
    png((x) => [scale(x), scale(x), scale(x)]),
    png((_x, y) => [scale(y), scale(y), scale(y)]),
    png((x, y) => ((Math.floor(x / 8) + Math.floor(y / 8)) % 2 === 0 ? [0, 0, 0] : [255, 255, 255])),
    png(noise(1, true)),
    png(noise(2, true)),
    png(noise(3, false)),
    png(noise(4, false)),
  ]);
}
