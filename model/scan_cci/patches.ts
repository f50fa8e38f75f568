/**
 * The 25 local patches SCAN cuts from the 28x28 layer2 map, exactly as the reference `unfold`/`permute` code
 * produces them: 16 6x6 blocks of the top-left 24x24 (row-major), 4 6x4 blocks down the right edge, 4 "4x6"
 * patches that are each ONE feature row (24+k, columns 0..23) folded row-major into a 4x6 grid, and the 4x4
 * corner. Each patch is a small grid whose cells point into the 28x28 map; SCAN's 3x3 conv pads each grid on its
 * own, so neighbours in a folded grid are 6 columns apart in the feature map.
 */

/** Side of the feature map the patches tile. */
export const PATCH_MAP_SIZE = 28;
/** Every patch fits a 6x6 canvas; the graph computes all 25 on such canvases. */
export const PATCH_CANVAS = 6;

/** One patch: its grid size and, per grid cell (row-major), the flat index `y * 28 + x` into the map. */
export interface Patch {
  rows: number;
  cols: number;
  source: number[];
}

function patch(rows: number, cols: number, at: (r: number, c: number) => number): Patch {
  const source: number[] = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) source.push(at(r, c));
  return { rows, cols, source };
}

/** The 25 patches in the reference's order (which is also the order of `local_attention_masks.<k>`). */
export function localPatches(): Patch[] {
  const n = PATCH_MAP_SIZE;
  const out: Patch[] = [];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) out.push(patch(6, 6, (r, c) => (6 * i + r) * n + 6 * j + c));
  }
  for (let i = 0; i < 4; i++) out.push(patch(6, 4, (r, c) => (6 * i + r) * n + 24 + c));
  // x[:, :, 24:, :24].unfold(3, 6, 6).permute(0, 2, 1, 3, 4): patch k is feature row 24+k, grid[r][c] = col 6r+c.
  for (let k = 0; k < 4; k++) out.push(patch(4, 6, (r, c) => (24 + k) * n + 6 * r + c));
  out.push(patch(4, 4, (r, c) => (24 + r) * n + 24 + c));
  return out;
}
